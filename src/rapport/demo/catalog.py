"""The world the demo's stories happen in: late-1990s albums and browsers, app devices, call
topics and the monthly newsletter.
"""

from __future__ import annotations

from datetime import date, timedelta

ALBUMS = (
    ("OK Computer", "Radiohead", "rock"),
    ("Spice", "Spice Girls", "pop"),
    ("Come On Over", "Shania Twain", "country"),
    ("Let's Talk About Love", "Celine Dion", "pop"),
    ("Yield", "Pearl Jam", "rock"),
    ("Homogenic", "Bjork", "electronic"),
    ("Buena Vista Social Club", "Buena Vista Social Club", "world"),
    ("Ray of Light", "Madonna", "pop"),
    ("The Fat of the Land", "The Prodigy", "electronic"),
    ("Urban Hymns", "The Verve", "rock"),
    ("Be Here Now", "Oasis", "rock"),
    ("Time Out of Mind", "Bob Dylan", "folk"),
    ("Baduizm", "Erykah Badu", "r-and-b"),
    ("Bridges to Babylon", "The Rolling Stones", "rock"),
    ("Pop", "U2", "rock"),
    ("Sevens", "Garth Brooks", "country"),
    ("Butterfly", "Mariah Carey", "pop"),
    ("Middle of Nowhere", "Hanson", "pop"),
    ("Portishead", "Portishead", "trip-hop"),
    ("Dig Your Own Hole", "The Chemical Brothers", "electronic"),
    ("Mezzanine", "Massive Attack", "trip-hop"),
    ("Moon Safari", "Air", "electronic"),
    ("Kind of Blue", "Miles Davis", "jazz"),
    ("Blue Train", "John Coltrane", "jazz"),
    ("The Goldberg Variations", "Glenn Gould", "classical"),
    ("Titanic", "James Horner", "soundtrack"),
)
BROWSERS = (
    "Mozilla/4.0 (compatible; MSIE 4.01; Windows 95)",
    "Mozilla/4.0 (compatible; MSIE 5.0; Windows 98)",
    "Mozilla/4.04 [en] (Win95; I)",
    "Mozilla/4.5 [en] (Macintosh; I; PPC)",
    "Mozilla/4.61 [en] (X11; I; Linux 2.0.36 i686)",
)
DEVICES = (("Apple", "iPhone", "ios"), ("Samsung", "Galaxy", "android"), ("Google", "Pixel", "android"))
SCREENS = ("Home", "Search", "Album", "Artist", "Cart", "Orders")
CALL_TOPICS = (
    ("order status", "resolved"),
    ("damaged disc", "replacement sent"),
    ("billing question", "resolved"),
    ("return request", "refund issued"),
    ("account help", "resolved"),
    ("late delivery", "escalated"),
    ("wrong item shipped", "replacement sent"),
    ("gift order", "callback scheduled"),
)
# The monthly newsletter: first Tuesday of each month.
CAMPAIGNS = [
    (f"nl-{y}-{m:02d}", d)
    for y, m in ((1997 + (i // 12), i % 12 + 1) for i in range(1, 18))
    for d in [date(y, m, 1) + timedelta(days=(1 - date(y, m, 1).weekday()) % 7)]
]
