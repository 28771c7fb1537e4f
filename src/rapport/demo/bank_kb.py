"""The demo's bank-style help center: one article per Banking77 intent, written for Rapport from the
compact table below (title, answer, steps), its slug the intent's name, its known questions the
Banking77 training questions of that intent (read from ../shared/data when the demo starts; the
data set's text is not in the repository)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from rapport.assistant.data import DataError, banking77
from rapport.db.engine import Database
from rapport.kb import service as kb_service
from rapport.kb.model import MAX_QUESTIONS, Draft

# intent: (title, answer, steps). Answers are the first paragraph: what the assistant says.
ARTICLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "activate_my_card": (
        "Activate your card",
        "Activate a new card in the app before its first use; it takes a minute.",
        ("Open Cards", "Choose the new card", "Tap Activate and enter the code printed on the letter"),
    ),
    "age_limit": (
        "Who can open an account",
        "You can open an account from 18; customers aged 13 to 17 can have a junior account linked to a parent.",
        ("Check your age on your ID", "Under 18: ask a parent to add you from their app"),
    ),
    "apple_pay_or_google_pay": (
        "Apple Pay and Google Pay",
        "Add your card to Apple Pay or Google Pay straight from the app; it works wherever contactless does.",
        ("Open Cards", "Tap Add to wallet", "Confirm in your phone's wallet"),
    ),
    "atm_support": (
        "Using cash machines",
        "Your card works at any cash machine showing the Visa or Mastercard sign, at home and abroad.",
        ("Look for the card scheme's sign on the machine", "Choose to be charged in the local currency"),
    ),
    "automatic_top_up": (
        "Automatic top-up",
        "Automatic top-up adds money from your linked card whenever your balance falls below an amount you choose.",
        ("Open Top up", "Turn on Automatic top-up", "Set the amount and the balance that triggers it"),
    ),
    "balance_not_updated_after_bank_transfer": (
        "Balance not updated after a bank transfer",
        "Transfers in usually show within 2 working days; international ones can take up to 5.",
        ("Check the sender used the right account details", "Wait 2 working days, then send us the transfer receipt"),
    ),
    "balance_not_updated_after_cheque_or_cash_deposit": (
        "Balance not updated after a deposit",
        "Cheque and cash deposits can take up to 5 working days to clear and show in your balance.",
        ("Keep the deposit receipt", "After 5 working days, send it to us in the chat"),
    ),
    "beneficiary_not_allowed": (
        "A payee cannot be added",
        "Some payees cannot be added for your safety, for example when their details do not match their bank's.",
        ("Check the name and account details with the payee", "Try again, or ask us in the chat"),
    ),
    "cancel_transfer": (
        "Cancel a transfer",
        "You can cancel a transfer while it is still pending; once it has been sent it cannot be recalled by us.",
        ("Open Payments", "Choose the pending transfer", "Tap Cancel transfer"),
    ),
    "card_about_to_expire": (
        "Your card is about to expire",
        "We send a new card automatically a month before your card expires; you can also order one now.",
        ("Check your address in Settings", "Open Cards and tap Replace card if you need it sooner"),
    ),
    "card_acceptance": (
        "Where your card is accepted",
        "Your card is accepted wherever Visa or Mastercard is, online and in shops, in over 200 countries.",
        ("Look for the scheme's sign at the till or checkout",),
    ),
    "card_arrival": (
        "When your card will arrive",
        "Cards arrive within 5 working days in most countries; the app shows when yours was sent.",
        ("Open Cards to see the sending date", "Not there after 10 working days? Tell us and we send another"),
    ),
    "card_delivery_estimate": (
        "How long card delivery takes",
        "Standard delivery takes 3 to 5 working days; express delivery takes 1 to 2.",
        ("Choose standard or express when you order", "Track it under Cards"),
    ),
    "card_linking": (
        "Link a card you already have",
        "You can link an existing card to your account from the app to top up with it.",
        ("Open Cards", "Tap Link a card", "Enter the card number you received"),
    ),
    "card_not_working": (
        "Your card is not working",
        "Most card problems come from a frozen card, a blocked PIN or a spending limit; the app shows each.",
        (
            "Check the card is not frozen",
            "Check your limits in Card settings",
            "Still not working? Order a replacement",
        ),
    ),
    "card_payment_fee_charged": (
        "A fee on a card payment",
        "Card payments in your currency are free; a fee applies to some currencies and above your monthly allowance.",
        ("Open the payment to see the fee", "Check your plan's allowance in Plans"),
    ),
    "card_payment_not_recognised": (
        "A card payment you do not recognise",
        "If you do not recognise a card payment, freeze your card at once and tell us: we investigate fraud.",
        ("Freeze the card in the app", "Open the payment and tap I don't recognise it"),
    ),
    "card_payment_wrong_exchange_rate": (
        "A card payment at the wrong rate",
        "Card payments use the scheme's rate on the day the merchant settles, which can differ from the day you paid.",
        ("Open the payment to see the rate used", "If it still looks wrong, tell us in the chat"),
    ),
    "card_swallowed": (
        "A cash machine kept your card",
        "If a cash machine kept your card, freeze it in the app and order a new one; the machine's bank destroys it.",
        ("Freeze the card", "Order a replacement under Cards"),
    ),
    "cash_withdrawal_charge": (
        "Cash withdrawal fees",
        "Withdrawals are free up to your plan's monthly allowance; after that a small fee applies.",
        ("Check your allowance in Plans", "The machine's owner may add its own fee"),
    ),
    "cash_withdrawal_not_recognised": (
        "A cash withdrawal you do not recognise",
        "If you did not make a withdrawal, freeze your card and tell us at once so we can investigate.",
        ("Freeze the card", "Open the withdrawal and tap I don't recognise it"),
    ),
    "change_pin": (
        "Change your PIN",
        "You can change your PIN at any cash machine with your current PIN, or see it in the app.",
        ("Insert the card at a cash machine", "Choose PIN services, then Change PIN"),
    ),
    "compromised_card": (
        "Your card may be compromised",
        "If you think someone has your card details, freeze the card and order a new one with new details.",
        ("Freeze the card", "Order a replacement", "Check recent payments"),
    ),
    "contactless_not_working": (
        "Contactless is not working",
        "Contactless needs one chip-and-PIN payment on a new card, and stops past the local contactless limit.",
        ("Make one payment with your PIN", "Check contactless is on in Card settings"),
    ),
    "country_support": (
        "Countries we support",
        "You can open an account if you live in the UK or the European Economic Area.",
        ("Check your country is listed when you sign up",),
    ),
    "declined_card_payment": (
        "A card payment was declined",
        "Payments are declined for a frozen card, too little balance, a limit, or a merchant we block.",
        ("Check your balance and limits", "Check the card is not frozen", "Try again or use another card"),
    ),
    "declined_cash_withdrawal": (
        "A cash withdrawal was declined",
        "Withdrawals are declined for a wrong PIN, too little balance, or above your daily limit.",
        ("Check your balance", "Check the daily limit in Card settings"),
    ),
    "declined_transfer": (
        "A transfer was declined",
        "Transfers are declined when the payee's details are wrong, your balance is too low, or our checks stop them.",
        ("Check the payee's details", "Check your balance", "Ask us if it is declined again"),
    ),
    "direct_debit_payment_not_recognised": (
        "A direct debit you do not recognise",
        "You are covered by the Direct Debit Guarantee: tell us and we refund a payment taken in error.",
        ("Open the direct debit", "Tap I don't recognise it"),
    ),
    "disposable_card_limits": (
        "Disposable virtual card limits",
        "You can make up to 20 disposable virtual cards a day; each works for one payment.",
        ("Open Cards", "Tap Disposable card"),
    ),
    "edit_personal_details": (
        "Change your personal details",
        "You can change your address, email and phone in Settings; a change of name needs a document.",
        ("Open Settings, Personal details", "Edit and confirm"),
    ),
    "exchange_charge": (
        "Fees for exchanging currency",
        "Exchange is free up to your plan's monthly allowance; above it a small fee applies, shown before you confirm.",
        ("Open Exchange", "The fee shows before you confirm"),
    ),
    "exchange_rate": (
        "Our exchange rates",
        "We use the interbank rate with a small margin, shown before you confirm any exchange.",
        ("Open Exchange to see today's rate",),
    ),
    "exchange_via_app": (
        "Exchange currency in the app",
        "You can hold and exchange over 30 currencies in the app in seconds.",
        ("Open Exchange", "Choose the currencies and amount", "Confirm"),
    ),
    "extra_charge_on_statement": (
        "An extra charge on your statement",
        "An unexpected charge is usually a fee, a pre-authorisation or a payment settling at a new amount.",
        ("Open the charge to see what it is", "Still unsure? Ask us in the chat"),
    ),
    "failed_transfer": (
        "A transfer failed",
        "If a transfer fails, the money comes back to your account within 2 working days.",
        ("Check the payee's details", "Send it again"),
    ),
    "fiat_currency_support": (
        "Currencies you can hold",
        "You can hold over 30 currencies and exchange between them; the app lists them all.",
        ("Open Accounts", "Tap Add a currency"),
    ),
    "get_disposable_virtual_card": (
        "Get a disposable virtual card",
        "A disposable virtual card makes new details after each payment, for safer online shopping.",
        ("Open Cards", "Tap Disposable card", "Use its details once"),
    ),
    "get_physical_card": (
        "Get your physical card",
        "Order a physical card in the app; it arrives in 3 to 5 working days.",
        ("Open Cards", "Tap Order a card", "Confirm your address"),
    ),
    "getting_spare_card": (
        "Get a spare card",
        "You can hold up to three physical cards on one account.",
        ("Open Cards", "Tap Order another card"),
    ),
    "getting_virtual_card": (
        "Get a virtual card",
        "A virtual card is ready at once in the app for online payments and phone wallets.",
        ("Open Cards", "Tap Virtual card"),
    ),
    "lost_or_stolen_card": (
        "Your card is lost or stolen",
        "Freeze your card in the app at once, then order a replacement; frozen cards cannot be used.",
        ("Freeze the card under Cards", "Order a replacement", "Tell us about payments you did not make"),
    ),
    "lost_or_stolen_phone": (
        "Your phone is lost or stolen",
        "Sign in from another device to freeze your cards and sign out the lost phone.",
        ("Sign in on another device", "Freeze your cards", "Remove the lost device in Security"),
    ),
    "order_physical_card": (
        "Order a physical card",
        "Order a physical card from the app and choose standard or express delivery.",
        ("Open Cards", "Tap Order a card"),
    ),
    "passcode_forgotten": (
        "You forgot your passcode",
        "Reset your passcode from the sign-in screen with your email and a selfie check.",
        ("Tap Forgot passcode", "Follow the email link", "Choose a new passcode"),
    ),
    "pending_card_payment": (
        "A card payment is pending",
        "Card payments stay pending until the merchant settles them, usually within 7 days.",
        ("Wait for the merchant to settle", "Still pending after 7 days? Ask us"),
    ),
    "pending_cash_withdrawal": (
        "A cash withdrawal is pending",
        "Withdrawals show as pending until the machine's bank settles them, usually within a few days.",
        ("Wait a few days", "Ask us if it stays pending"),
    ),
    "pending_top_up": (
        "A top-up is pending",
        "Top-ups by card are instant; by bank transfer they can take up to 2 working days.",
        ("Check how you topped up", "Wait 2 working days for transfers"),
    ),
    "pending_transfer": (
        "A transfer is pending",
        "Transfers can be pending while our checks run or until the next working day.",
        ("Check the transfer's status in Payments",),
    ),
    "pin_blocked": (
        "Your PIN is blocked",
        "A PIN is blocked after three wrong tries; unblock it at a cash machine or in the app.",
        ("Open Card settings", "Tap Unblock PIN"),
    ),
    "receiving_money": (
        "Receive money",
        "Give the payer your account details from the app; transfers in are free.",
        ("Open Accounts", "Tap Account details", "Share them"),
    ),
    "refund_not_showing_up": (
        "A refund is not showing",
        "Refunds take up to 7 days to show after the merchant sends them.",
        ("Check the merchant has sent it", "Still missing after 7 days? Tell us"),
    ),
    "request_refund": (
        "Ask for a refund",
        "Ask the merchant first; if they do not answer, we can raise a dispute for you.",
        ("Contact the merchant", "Open the payment and tap Dispute"),
    ),
    "reverted_card_payment": (
        "A card payment was reverted",
        "A merchant may cancel a payment; the money comes back to your balance within a few days.",
        ("Open the payment to see its status",),
    ),
    "supported_cards_and_currencies": (
        "Cards and currencies we support",
        "You can top up with Visa and Mastercard debit and credit cards in most currencies.",
        ("Open Top up to see accepted cards",),
    ),
    "terminate_account": (
        "Close your account",
        "You can close your account from Settings once your balance is zero.",
        ("Move your balance out", "Open Settings, Close account"),
    ),
    "top_up_by_bank_transfer_charge": (
        "Fees for top-ups by transfer",
        "Topping up by bank transfer is free.",
        ("Open Top up, Bank transfer for the details",),
    ),
    "top_up_by_card_charge": (
        "Fees for top-ups by card",
        "Top-ups by card are free in most cases; some cards issued abroad carry a small fee.",
        ("The fee shows before you confirm",),
    ),
    "top_up_by_cash_or_cheque": (
        "Top up with cash or a cheque",
        "You cannot top up with cash or a cheque; use a card or a bank transfer.",
        ("Open Top up",),
    ),
    "top_up_failed": (
        "A top-up failed",
        "A failed top-up is never charged; check the card is in your name and has funds.",
        ("Check the card details", "Try another card"),
    ),
    "top_up_limits": (
        "Top-up limits",
        "You can top up to 10,000 a day; the app shows your remaining limit.",
        ("Open Top up to see your limits",),
    ),
    "top_up_reverted": (
        "A top-up was reverted",
        "A top-up is reverted when the card's bank cancels it; the money goes back to that card.",
        ("Check with the card's bank", "Top up again"),
    ),
    "topping_up_by_card": (
        "Top up by card",
        "Top up instantly with a debit or credit card in the app.",
        ("Open Top up", "Choose Card", "Enter the amount"),
    ),
    "transaction_charged_twice": (
        "Charged twice",
        "A double charge is often a pre-authorisation that drops off within 7 days; if both settle, we get one back.",
        ("Wait for the pending one to drop off", "Both settled? Tell us"),
    ),
    "transfer_fee_charged": (
        "A fee on a transfer",
        "Transfers in your currency are free; international transfers show their fee before you confirm.",
        ("Open the transfer to see the fee",),
    ),
    "transfer_into_account": (
        "Transfer money into your account",
        "Use your account details for a bank transfer, or top up by card.",
        ("Open Accounts, Account details",),
    ),
    "transfer_not_received_by_recipient": (
        "The payee did not receive a transfer",
        "Transfers arrive within 1 working day, or up to 5 abroad; send the payee the receipt from the app.",
        ("Open the transfer", "Share its receipt with the payee"),
    ),
    "transfer_timing": (
        "How long transfers take",
        "Transfers in the same currency arrive within 1 working day; international ones within 1 to 5.",
        ("Check the expected date on the transfer",),
    ),
    "unable_to_verify_identity": (
        "Identity check problems",
        "Most failed checks are a blurred photo or an expired document; try again in good light.",
        ("Use a valid document", "Take the photo in good light"),
    ),
    "verify_my_identity": (
        "Verify your identity",
        "Verify your identity in the app with a photo of your ID and a selfie; it takes minutes.",
        ("Open Settings, Verification", "Follow the steps"),
    ),
    "verify_source_of_funds": (
        "Source of funds checks",
        "By law we sometimes ask where your money comes from; a payslip or statement is enough.",
        ("Upload the document in the app when asked",),
    ),
    "verify_top_up": (
        "Verify a top-up card",
        "We may ask you to verify a top-up card with a small charge that is refunded.",
        ("Enter the code shown on your card statement",),
    ),
    "virtual_card_not_working": (
        "A virtual card is not working",
        "A virtual card stops working when frozen or deleted; check it in the app.",
        ("Open Cards", "Check the virtual card is active"),
    ),
    "visa_or_mastercard": (
        "Visa or Mastercard",
        "Our cards are Mastercard or Visa depending on your country; both work worldwide.",
        ("See the logo on your card",),
    ),
    "why_verify_identity": (
        "Why we check your identity",
        "The law requires us to know our customers, to protect you and the bank from fraud.",
        (),
    ),
    "wrong_amount_of_cash_received": (
        "Wrong amount of cash received",
        "If a machine gave you less than you asked, tell us with the machine's address and time.",
        ("Open the withdrawal", "Tap Report a problem"),
    ),
    "wrong_exchange_rate_for_cash_withdrawal": (
        "Wrong rate on a cash withdrawal",
        "Withdrawals abroad use the scheme's rate; the machine's own rate is worse, so refuse its conversion.",
        ("Choose to be charged in the local currency",),
    ),
}


def article_body(answer: str, steps: tuple[str, ...]) -> str:
    if not steps:
        return answer + "\n"
    return answer + "\n\n## Steps\n\n" + "".join(f"{n}. {step}.\n" for n, step in enumerate(steps, start=1))


def bank_drafts(shared: Path | None = None) -> list[tuple[Draft, str, str]]:
    """The 77 articles, published, with the Banking77 training questions as known questions."""
    questions: dict[str, list[str]] = defaultdict(list)
    for text, intent in banking77(shared):
        questions[intent].append(text[:500])
    missing = set(questions) - set(ARTICLES)
    if missing:
        raise DataError(f"the demo has no article for {sorted(missing)}")
    return [
        (
            Draft(title, article_body(answer, steps), "banking", "en", tuple(questions[slug][:MAX_QUESTIONS])),
            slug,
            "published",
        )
        for slug, (title, answer, steps) in ARTICLES.items()
    ]


def publish_bank_kb(db: Database, shared: Path | None = None) -> int:
    return len(kb_service.import_articles(db, bank_drafts(shared), actor="demo"))
