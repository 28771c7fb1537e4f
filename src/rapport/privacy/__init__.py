"""Privacy: what the customer can do with their own data: see it, download it, erase it, and sign in
to the portal to do so. Export and erasure are driven by the personal-data registry."""
