"""Invented people for the CDNOW customer ids: names, emails at example.com, and phone numbers
from the 555-0100..555-0199 range that US numbering keeps for fiction, so no real person is
ever named, mailed or called.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

_FIRST_NAMES = """
Ada Alan Alice Amara Andre Anna Ben Carla Chen Chloe Daniel Dana Diego Elena Emma Eric Farah Felix Grace Hana
Hugo Ines Isaac Ivy Jamal Jane Jonas Julia Kai Kenji Lara Leo Lina Lucas Maya Mateo Mia Nadia Noah Nora Omar
Olivia Owen Priya Rafael Rosa Ruth Samir Sara Sofia Tariq Theo Uma Victor Wei Yara Yusuf Zoe
"""
_LAST_NAMES = """
Abbott Alvarez Bauer Becker Brooks Castillo Chen Cohen Costa Dubois Edwards Fischer Garcia Gupta Hall Hansen
Ibrahim Ito Jensen Johnson Kim Kowalski Larsen Lee Lopez Martin Meyer Moreau Nakamura Nguyen Novak Okafor
Olsen Park Patel Perez Quinn Reyes Rossi Sato Schmidt Silva Singh Smith Suzuki Tanaka Taylor Torres Varga
Wagner Walker Weber Williams Wong Yilmaz Young Zhang
"""
# Area codes that phonenumbers accepts with 555-01xx; 100 numbers each, so 24,300 distinct phones.
_AREA_CODES = """
201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 224 225 228 229 231 234 239 240 248 251
252 253 254 256 260 262 267 269 270 276 281 301 302 303 304 305 307 308 309 310 312 313 314 315 316 317 318
319 320 321 323 330 334 336 337 339 347 351 352 360 361 386 401 402 404 405 406 407 408 409 410 412 413 414
415 417 419 423 425 430 432 434 435 440 443 469 478 479 480 484 501 502 503 504 505 507 508 509 510 512 513
515 516 517 518 520 530 540 541 551 559 561 562 563 567 570 571 573 574 575 580 585 586 601 602 603 605 606
607 608 609 610 612 614 615 616 617 618 619 620 623 626 630 631 636 641 646 650 651 660 661 662 678 682 701
702 703 704 706 707 708 712 713 714 715 716 717 718 719 720 724 727 731 732 734 740 754 757 760 763 765 770
772 773 774 775 781 785 786 801 802 803 804 805 806 808 810 812 813 814 815 816 817 818 828 830 831 832 843
845 847 848 850 856 857 858 859 860 862 863 864 865 870 878 901 903 904 906 907 908 909 910 912 913 914 915
"""
FIRST_NAMES = tuple(_FIRST_NAMES.split())
LAST_NAMES = tuple(_LAST_NAMES.split())
AREA_CODES = tuple(int(code) for code in _AREA_CODES.split())
MAX_PEOPLE = len(AREA_CODES) * 100


@dataclass(frozen=True)
class Person:
    customer: int
    user_id: str
    first_name: str
    last_name: str
    email: str
    phone: str  # as a person would type it: +1 415-555-0123

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def subscriber_id(self) -> str:
        """The email platform's id for this address: what its events carry as anonymousId."""
        return "esp-" + hashlib.sha256(self.email.encode()).hexdigest()[:16]


def fictional_phone(index: int) -> str:
    """The index-th number of the fiction range: distinct for 0 <= index < MAX_PEOPLE."""
    if not 0 <= index < MAX_PEOPLE:
        raise ValueError(f"only {MAX_PEOPLE} fictional numbers exist")
    return f"+1 {AREA_CODES[index // 100]}-555-01{index % 100:02d}"


def invent_person(index: int, customer: int, user_id: str, rng: random.Random) -> Person:
    """A person for the index-th demo customer; the index keeps email and phone unique."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first}.{last}{index + 1}@example.com".lower()
    return Person(customer, user_id, first, last, email, fictional_phone(index))
