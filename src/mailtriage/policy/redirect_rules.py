"""The redirect classifier's tables: what `redirects.py` applies, and what an operator edits.

Why a module of its own: the engine (building the view of a mail, matching, scoring, the
decision) is code that rarely changes; these tables change whenever a new kind of customer
mail or report turns up. An operator tuning the classifier reads and edits this file alone,
and an edit here cannot change how matching works, only what is matched.

Both tables are data an operator can read and extend: a rule has a name (the name returned,
so staff can see why a mail was redirected), the fields it reads, regular-expression
fragments in Dutch and English, a weight, and optionally a structural condition on the mail.
Only `abuse-feedback-report` is decisive: an ARF report is a machine's spam complaint, never a
vulnerability report, whatever words the quoted spam contains.

The structural conditions read a `MailView` (`mailview.py`), which the engine builds once per
mail.

Pure: no I/O, no logging (mail text and addresses never reach a log).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mailtriage.policy.mailview import Field, MailView

__all__ = [
    "REDIRECT_RULES",
    "REPORT_SIGNALS",
    "SHORT_NOTE_WORDS",
    "Condition",
    "Field",
    "RedirectRule",
    "ReportSignal",
]

# A structural condition a rule adds to (or has instead of) its patterns.
Condition = Callable[[MailView], bool]

# A forward counts as "without comment" when the sender wrote at most this many words.
SHORT_NOTE_WORDS = 40


@dataclass(frozen=True)
class RedirectRule:
    """Matching this says "not for the security desk" with `weight`.

    `patterns` are regular-expression fragments matched in lower-cased text, starting at a word
    boundary (end one with \\b to make it a whole word; one that starts after punctuation says
    so with a look-behind, as in (?<=\\.)git); a space matches any run of white space. URLs in
    the text are replaced by "<url>" first. A rule with patterns matches when one of them
    occurs in one of `fields` and, when `when` is set, `when(view)` holds; a rule without
    patterns is its condition alone.
    """

    name: str
    patterns: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ("subject", "text")
    weight: int = 3
    when: Condition | None = None
    decisive: bool = False  # matched -> redirect, whatever report signals say


@dataclass(frozen=True)
class ReportSignal:
    """Matching this says "this reads like a vulnerability report". Same matching as a rule."""

    name: str
    patterns: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ("subject", "text")
    weight: int = 1
    veto: bool = False  # matched -> never redirect
    when: Condition | None = None


# --------------------------------------------------------------------------- conditions

_FORWARD_SUBJECT = re.compile(
    r"^\s{0,8}(?:(?:re|aw|antw)\s{0,4}:\s{0,8}){0,4}(?:fwd?|doorst|wg|tr)\s{0,4}:"
)
_WORD = re.compile(r"\w+")


def _feedback_report(view: MailView) -> bool:
    # ARF (RFC 5965): the report-type parameter, or the machine-readable part itself.
    mail = view.mail
    ctype = (mail.first_header("content-type") or "").lower()
    if mail.content_type == "multipart/report" and "feedback-report" in ctype:
        return True
    return any(a.content_type == "message/feedback-report" for a in mail.attachments)


def _forwarded(view: MailView) -> bool:
    return (
        view.mail.forwards_message
        or view.inline_forward
        or _FORWARD_SUBJECT.match(view.subject) is not None
    )


def _is_document(content_type: str) -> bool:
    # Forwarded mails, screenshots and signatures are not a write-up; anything else may be.
    return not content_type.startswith(_NOT_DOCUMENTS)


_NOT_DOCUMENTS = (
    "message/",
    "image/",
    "application/pgp-signature",
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
)


def _forwarded_without_comment(view: MailView) -> bool:
    if not _forwarded(view) or any(_is_document(a.content_type) for a in view.mail.attachments):
        return False  # a write-up attached next to the forward is a comment, and a long one
    # Enough words to pass the limit are within the first few kilobytes.
    return len(_WORD.findall(view.note[:4_000])) <= SHORT_NOTE_WORDS


def _encrypted(view: MailView) -> bool:
    # Researchers encrypt; customers forwarding phishing do not. Nothing readable to judge.
    mail = view.mail
    if mail.content_type in _ENCRYPTED_TYPES:
        return True
    if any(a.content_type in _ENCRYPTED_TYPES for a in mail.attachments):
        return True
    return "-----begin pgp message-----" in view.text


_ENCRYPTED_TYPES = frozenset(
    {"multipart/encrypted", "application/pgp-encrypted", "application/pkcs7-mime"}
)
_POC_NAME = re.compile(
    r"(?:^|[^a-z])(?:poc|exploit|payload|repro)|\.(?:py|sh|har|pcap|pcapng|burp|saz|rb|nse)$"
)
# What an attack string looks like once it is in a URL: markup, quotes, traversal, JNDI.
_PAYLOAD_IN_URL = re.compile(
    r"[<>'\"]|%3c|%3e|%22|%27|javascript:|onerror|onload|\.\./|%2e%2e|\$\{|%24%7b"
)
_SENSITIVE_PATH = re.compile(
    r"/\.(?:git|env|svn|hg|ds_store|htaccess|htpasswd|aws|ssh)\b|phpinfo|server-status"
    r"|/actuator\b|\.(?:sql|bak|old|swp)\b|/graphql\b|/swagger"
)
_API_PATH = re.compile(r"/(?:api|rest|v\d{1,2})/")


def _poc_attachment(view: MailView) -> bool:
    return any(_POC_NAME.search(a.filename.lower()) for a in view.mail.attachments)


def _url_payload(view: MailView) -> bool:
    return any(_PAYLOAD_IN_URL.search(u.lower()) for u in view.mail.indicators.urls)


def _url_sensitive(view: MailView) -> bool:
    return any(_SENSITIVE_PATH.search(u.lower()) for u in view.mail.indicators.urls)


def _url_api(view: MailView) -> bool:
    return any(_API_PATH.search(u.lower()) for u in view.mail.indicators.urls)


def _url_with_parameters(view: MailView) -> bool:
    return any("=" in u.partition("?")[2] for u in view.mail.indicators.urls)


def _ip_address(view: MailView) -> bool:
    return bool(view.mail.indicators.ipv4 or view.mail.indicators.ipv6)


# --------------------------------------------------------------------------- the tables

_MAIL_EN = r"(?:e-?mails?|mails?|messages?|sms(?:es)?|texts?|letters?|calls?|whatsapps?)"
_MAIL_NL = (
    r"(?:e-?mails?|mails?|mailtjes?|bericht(?:en|je|jes)?|sms(?:je)?s?|brie(?:f|ven)|appjes?)"
)
_THIS = r"(?:this|that|deze|dit|die)"
_FAKE = r"(?:legit|legitimate|genuine|real|authentic|nep|fake|oplichting|phishing|a scam|spam)"
_YOURS = r"(?:van jullie|van u|van pzem|from you|from pzem|sent by you|sent by pzem)"

REDIRECT_RULES: tuple[RedirectRule, ...] = (
    # A machine's spam complaint (ARF): the forwarded spam may say anything.
    RedirectRule("abuse-feedback-report", when=_feedback_report, decisive=True),
    # "I received a fake e-mail", "ik heb een nepmail ontvangen", "phishing-sms".
    RedirectRule(
        "suspicious-mail",
        (
            r"(?:fake|phishing|phishy|scam|suspicious|fraudulent|spoofed|dodgy|bogus|spam)[ -]?"
            rf"{_MAIL_EN}\b",
            rf"(?:nep|valse?|verdachte?|vreemde?|rare|phishing|oplichtings?|spam)[ -]?{_MAIL_NL}\b",
            r"smishing",
            r"vishing",
            # A look-alike site elsewhere is a phishing report too; one on our own (sub)domain
            # is a compromise, and the vetoes keep that a report.
            r"(?:fake|nep|valse?|namaak|phishing|spoofed|bogus) ?(?:website|site|webpagina|webshop"
            r"|domain|domein)s?\b",
        ),
    ),
    # "Is this mail really from you?", "klopt deze mail?", "did you send this?"
    RedirectRule(
        "authenticity-question",
        (
            rf"is {_THIS} (?:{_MAIL_EN} |{_MAIL_NL} )?(?:really |actually |wel |echt )?"
            rf"(?:{_FAKE}|{_YOURS})\b",
            rf"is {_THIS} (?:{_MAIL_EN}|{_MAIL_NL}) (?:echt|betrouwbaar)\b",
            rf"(?:komt|kwam) {_THIS} (?:{_MAIL_NL} )?(?:echt |wel )?van (?:jullie|u|pzem)\b",
            r"did you (?:really |actually )?send (?:this|me|it)\b",
            rf"(?:hebben|heeft) (?:jullie|u|pzem) (?:deze|dit|die|mij|me)(?: {_MAIL_NL})?"
            r" (?:echt |wel |zelf )?(?:ge|ver)?stuurd",
            rf"klopt {_THIS} {_MAIL_NL}",
            r"klopt dit\s?\?",
            r"lijkt (?:me|mij) (?:niet te kloppen|niet echt|niet betrouwbaar|nep|phishing)",
            r"lijkt op (?:phishing|oplichting|nep|spam)",
            r"looks like (?:phishing|a scam|spam|a fake)",
            r"niet te vertrouwen",
            r"(?:vertrouw|vertrouwde|vertrouwen) (?:ik )?(?:het|deze|dit|die) niet",
            r"(?:don't|do not|didn't|did not) trust (?:it|this|the)",
            r"(?:suspicious|legit|real|genuine|phishing|scam|echt|nep|verdacht|oplichting)\s?\?",
        ),
        fields=("subject", "note"),
    ),
    # A forward counts a little on its own (researchers forward too), a lot when the sender
    # wrote next to nothing above it.
    RedirectRule("forwarded-mail", when=_forwarded, weight=1),
    RedirectRule("forwarded-without-comment", when=_forwarded_without_comment),
    # The word alone: reports use it too (as the impact), which is what the vetoes are for.
    RedirectRule("phishing-mentioned", (r"phish", r"spoofed (?:e-?)?mail"), weight=2),
    # The policy's "not for" list and the customer-service topics that come with it. Each one
    # reaches the threshold alone: one clear topic and nothing that reads like a report.
    RedirectRule(
        "fraud",
        (
            r"fraud",
            r"oplicht",
            r"opgelicht",
            r"scam",
            r"identity theft",
            r"identiteits(?:fraude|diefstal)",
            r"(?:op|onder) (?:mijn|ons|onze|zijn|haar) naam",
            r"in (?:my|our|his|her) name",
            r"pretend(?:s|ed|ing)? to be",
            r"claim(?:s|ed|ing)? to be",
            r"(?:zegt|zeggen|zei|zeiden|beweert|beweren) (?:\w+ ){0,3}?van (?:pzem|jullie)",
            r"(?:vraagt|vroeg|vragen|vroegen|asking|asked|asks) (?:\w+ ){0,3}?(?:bank ?(?:details"
            r"|gegevens|account)|bankgegevens|iban|pincode|pin code)",
            r"(?:deed|doet|deden|doen) (?:zich|alsof)",
            r"zich voor(?:deed|doet|doen|gedaan)",
            r"(?:zei|zeiden|beweerde|beweerden) (?:dat (?:hij|zij|ze) )?van (?:pzem|jullie)",
            r"aangifte",
            r"politie\b",
            r"police\b",
        ),
    ),
    RedirectRule(
        "service-complaint",
        (
            r"klacht",
            r"klagen",
            r"beklag",
            r"ontevreden",
            r"teleurgesteld",
            r"onacceptabel",
            r"schandalig",
            r"complain",
            r"dissatisfied",
            r"disappointed",
            r"unacceptable",
            r"(?:slechte|belabberde|waardeloze|matige) (?:service|klantenservice|dienstverlening)",
            r"(?:poor|terrible|bad|awful|appalling|horrible) (?:customer )?service",
            r"(?:nooit|niet) (?:meer )?teruggebeld",
            r"(?:never|nobody|no one|no-one) (?:called|calls|got|rang) (?:me )?back",
            r"kom (?:er )?niet door",
            r"niemand (?:neemt|nam) op",
            r"(?:nobody|no one) (?:answers|answered|picks up)",
        ),
    ),
    RedirectRule(
        "outage",
        (
            r"storing",
            r"(?:stroom|gas|elektriciteits)storing",
            r"stroomuitval",
            r"(?:geen|zonder) (?:stroom|elektriciteit|gas|warm water|verwarming)\b",
            r"(?:power|electricity|gas) (?:outage|cut|failure)",
            r"outage (?:in|on|at) (?:my|our|the) (?:street|area|neighbou?rhood|house|home|town)",
            r"blackout",
            r"(?:no|without) (?:power|electricity|gas|heating|hot water)\b",
        ),
    ),
    RedirectRule(
        "invoice-or-payment",
        (
            r"factu",
            r"invoice",
            # Not "bill" alone: it signs mails too.
            r"(?:my|the|your|this|that|a|an|energy|electricity|gas|monthly|final|annual) bills?\b",
            r"bills\b",
            r"bill(?:ing|ed)\b",
            r"(?:jaar|eind|tussen)?afrekening",
            r"(?:termijn|maand|voorschot)bedrag",
            r"voorschot",
            r"incasso",
            r"ge[iï]ncasseerd",
            r"afgeschreven",
            r"afschrij",
            r"betaal",
            r"betal",
            r"bijbetal",
            r"aanmaning",
            r"energierekening",
            r"(?:mijn|de|uw|je|onze) (?:energie)?rekening\b",
            r"payment",
            r"direct debit",
            r"overcharg",
            r"debt collect",
        ),
    ),
    RedirectRule(
        "refund",
        (
            r"refund",
            r"terugbetal",
            r"terugstort",
            r"terugboek",
            r"restitutie",
            r"teruggave",
            r"geld terug",
            r"money back",
            r"credit balance",
            r"overpaid",
            r"te ?veel betaald",
        ),
    ),
    RedirectRule(
        "meter-readings",
        (r"meterstand", r"meter ?readings?", r"meteropname", r"meter (?:op)?nemen"),
    ),
    RedirectRule(
        "contract-or-moving",
        (
            r"verhuiz",
            r"verhuis",
            r"(?:moving|move) (?:house|home|out)",
            r"(?:i am|i'm|we are|we're) moving",
            r"(?:my|our) new (?:address|home|house|flat|apartment)",
            r"(?:nieuw|nieuwe) (?:adres|woning|huis)\b",
            r"opzeg",
            r"overstap",
            r"cancel (?:my|our|the|her|his) (?:contract|account|subscription)",
            r"(?:terminate|end) (?:my|our|the) contract",
            r"(?:kopie|copy) (?:van|of) (?:mijn|my|het|the) (?:contract|overeenkomst)",
            r"welkomstbrief",
            r"welcome letter",
            r"(?:mijn|ons|my|our) (?:energie|energy )?contract (?:loopt|verloopt|expires|ends)",
            r"contract (?:verlengen|verlenging|renewal|renew)",
        ),
    ),
    RedirectRule(
        "energy-supply-question",
        (
            r"energie ?contract",
            r"energy contract",
            r"(?:gas and electricity|gas en (?:stroom|licht)) contract",
            r"(?:energie)?leverancier",
            r"(?:energy|gas|electricity) suppliers?",
            r"(?:switch|change|new) (?:energy )?supplier",
            r"tarie(?:f|ven)",
            r"kwh\b",
            r"(?:stroom|gas|energie)prij",
            r"price per",
            r"prijs per",
            r"energietoeslag",
        ),
    ),
    RedirectRule(
        "customer-service",
        (
            r"klantenservice",
            r"customer service",
            r"klantnummer",
            r"customer number",
            r"contractnummer",
            r"rekeningnummer",
            r"iban wijzig",
            r"(?:new|nieuwe?) (?:bank|iban)",
            r"monteur",
            r"(?:engineer|technician) (?:visit|appointment|come)",
            r"afspraak",
            r"appointment",
            r"(?:mijn|my) (?:gegevens|details|telefoonnummer|phone number|e-?mailadres"
            r"|e-?mail address) (?:wijzigen|aanpassen|veranderen|changed?|updated?)",
        ),
    ),
    RedirectRule(
        "unsubscribe-request",
        (
            r"(?:stop|quit) (?:sending|mailing|e-?mailing)",
            r"unsubscribe me",
            r"uitschrijv",
            r"afmelden (?:voor|van)",
            r"(?:i|ik|we|wij) (?:have |heb |hebben )?(?:already |al )?(?:unsubscribed|afgemeld)",
            r"(?:geen|no more) (?:nieuwsbrie|newsletter|reclame|marketing)",
            r"spam (?:van|from) (?:jullie|u|you|pzem)",
            r"hoe (?:stop|kan ik stoppen|meld ik (?:me|mij) af)",
            r"how (?:do|can) i (?:stop|unsubscribe|opt out)",
        ),
    ),
    # What a phishing mail says about itself; seen when a forward is inline, or attached with
    # nothing written around it (the parser then reads the attached mail).
    RedirectRule(
        "phishing-lure",
        (
            r"(?:uw|je|your) (?:account|rekening|levering|aansluiting) (?:is|wordt|has been"
            r"|will be) (?:tijdelijk |temporarily )?(?:geblokkeerd|opgeschort|beperkt|afgesloten"
            r"|suspended|locked|blocked|limited|closed|disabled)",
            r"verify your (?:account|identity|details|payment|information)",
            r"confirm (?:your|my) (?:bank|payment|account|details|identity|direct debit)",
            r"bevestig (?:uw|je) (?:gegevens|betaling|account|identiteit|bankgegevens)",
            r"(?:via|met|with|through) ideal\b",
            r"ideal[ -]?(?:link|betaling|payment|verzoek)",
            r"betaalverzoek",
            r"klik (?:hier|op de (?:onderstaande )?(?:link|knop))",
            r"click (?:here|the (?:link|button) below|below)",
            r"(?:within|binnen) (?:24|48|72) (?:hours|uur)",
            r"openstaande? (?:bedrag|betaling|factuur|rekening)",
            r"achterstallig",
            r"(?:recht op|eligible (?:for|to receive)) (?:een |a )?(?:teruggave|refund|compensat"
            r"|toeslag|vergoeding)",
            r"dear (?:valued )?(?:customer|client|user|friend)",
            r"(?:geachte|beste) klant",
            r"pakket",
            r"parcel",
            r"bitcoin",
            r"lottery|loterij|jackpot",
            r"inheritance|erfenis",
            r"(?:money|wire) transfer",
        ),
        fields=("text",),
        weight=2,
    ),
)

# Vetoes are words customers do not use and reports can hardly avoid; the weighted signals
# are words both use, which only tip a close call towards a report.
REPORT_SIGNALS: tuple[ReportSignal, ...] = (
    ReportSignal("encrypted", when=_encrypted, veto=True),
    ReportSignal("poc-attachment", when=_poc_attachment, veto=True),
    ReportSignal("payload-in-url", when=_url_payload, veto=True),
    ReportSignal("sensitive-path-in-url", when=_url_sensitive, veto=True),
    ReportSignal(
        "vulnerability-words",
        (
            r"vuln",
            r"kwetsba",
            r"beveiligingsle",
            r"beveiligingsprobleem",
            r"beveiligingsfout",
            r"security (?:issue|flaw|bug|hole|problem|weakness|finding|report|advisory)",
            r"datalek",
            r"zwakke plek",
            r"lek in",
            r"exploit",
            r"payload",
            r"proof[ -]of[ -]concept",
            r"poc\b",
            r"cve-\d",
            r"cwe-\d",
            r"cvss",
            r"owasp",
            r"responsible disclosure",
            r"coordinated (?:vulnerability )?disclosure",
            r"gecoördineerde",
            r"bug ?bounty",
            r"hall of fame",
            r"pentest",
            r"penetration test",
            r"security researcher",
            r"beveiligingsonderzoeker",
            r"ethi(?:cal|sch|sche) hacker",
            r"white ?hat",
        ),
        veto=True,
    ),
    ReportSignal(
        "vulnerability-class",
        (
            r"xss\b",
            r"cross[ -]site",
            r"csrf",
            r"xsrf",
            r"ssrf",
            r"request forgery",
            r"sql",
            r"injecti",
            r"rce\b",
            r"remote code",
            r"code execution",
            r"idor\b",
            r"insecure direct",
            r"open redirect",
            r"unvalidated redirect",
            r"(?:sub)?domain takeover",
            r"account takeover",
            r"clickjacking",
            r"tabnabbing",
            r"traversal",
            r"[lr]fi\b",
            r"file inclusion",
            r"deserializ",
            r"webshell",
            r"phishing[ -]?kit",
            r"privilege escalation",
            r"bypass",
            r"omzeil",
            r"misconfigur",
            r"verkeerd geconfigureerd",
            r"configuratiefout",
            r"open relay",
            r"default (?:credentials|password|login)",
            r"standaard ?(?:wachtwoord|inlog|credentials)",
            r"hardcoded",
            r"directory listing",
            r"stack ?trace",
            r"debug[ -]?(?:mode|modus|page|pagina)",
            r"denial[ -]of[ -]service",
            r"d?dos\b",
            r"brute[ -]?force",
            r"rate[ -]?limit",
            r"race condition",
        ),
        veto=True,
    ),
    ReportSignal(
        "technical-terms",
        (
            r"dmarc",
            r"dkim",
            r"spf\b",
            r"tls\b",
            r"ssl\b",
            r"sslv",
            r"cipher",
            r"cname",
            r"dns\b",
            r"subdom",
            r"nxdomain",
            r"x-frame-options",
            r"content-security-policy",
            r"frame-ancestors",
            r"hsts",
            r"cors\b",
            r"access-control-allow",
            r"same-?site",
            r"httponly",
            r"jwt\b",
            r"bearer",
            r"endpoint",
            r"api\b",
            r"http/[12]",
            r"(?:get|post|put|delete|patch) /",
            r"curl\b",
            r"burp",
            r"nmap",
            r"sqlmap",
            r"nuclei",
            r"testssl",
            r"git-dumper",
            r"(?<=\.)(?:git|env|svn|htaccess|htpasswd)\b",
            r"phpinfo",
            r"smtp\b",
            r"telnet",
            r"(?:port|poort|ports|poorten) \d",
            r"open (?:port|poort)",
            r"authenticat",
            r"authenticatie",
            r"unauthenticated",
            r"reproduc",
            r"reproduceer",
            r"reproductie",
            r"steps to (?:reproduce|recreate)",
            r"stappen om",
            r"source ?code",
            r"broncode",
            r"publicly (?:accessible|readable|available|exposed|reachable)",
            r"publiek (?:bereikbaar|toegankelijk|leesbaar|opvraagbaar)",
            r"zonder (?:in te loggen|inloggen|authenticatie|wachtwoord)",
            r"without (?:authentication|logging in|login|a password)",
            r"exposed",
            r"blootgesteld",
            r"parameter",
            r"intercept",
            r"tamper",
            r"callback url",
            r"webhook",
            r"server[ -]?side",
            r"client[ -]?side",
            r"unescaped",
            r"databasefout",
            r"(?:database|sql) error",
            r"query",
            r"(?:over|via|plain|unencrypted|onversleuteld) https?\b",
            r"onversleuteld",
            r"unencrypted",
            r"niet versleuteld",
            r"not encrypted",
            r"plain ?text",
            r"platte tekst",
            r"(?:zonder|without|geen|no|niet via|not over) https\b",
            r"(?:java)?script\b",
            r"p1[ -]?(?:poort|port)",
            r"not escaped",
            r"sanitiz",
            r"ongefilterd",
        ),
        veto=True,
    ),
    # "Change the number in the URL and you see someone else's invoice": an IDOR in plain words.
    ReportSignal(
        "url-manipulation",
        (
            r"(?:in|uit) (?:de|het) (?:url|adresbalk)\b",
            r"(?:in|from) the (?:url|address bar)\b",
            r"(?:een )?(?:ander|another|a different) (?:nummer|number|id)\b",
            r"(?:verhoog|verlaag|aanpas|verander|wijzig|vervang|increment|decrement|chang|modif"
            r"|replac|alter)\w{0,6} (?:the|de|het|dat|that|this|dit) (?:id|nummer|number)\b",
        ),
        veto=True,
    ),
    # Customers say "unauthorised direct debit"; so authorisation words only count, not veto.
    ReportSignal(
        "access-to-others",
        (
            r"(?:andere|other|another|een andere) (?:klant|customer|user|gebruiker|account"
            r"|persoon|person)",
            r"someone else",
            r"(?:van|of) (?:de |the )?(?:hele|alle|whole|entire|all) (?:flat|straat|wijk|buurt"
            r"|gebouw|building|street|neighbou?rhood|klanten|customers|gebruikers|users)",
            r"(?:van|of|to|for|by|voor|door) (?:iedereen|anyone|everyone|anderen)\b",
            r"iemand anders",
            r"(?:wordt|werd|is) (?:er )?niet (?:gecontroleerd|gecheckt|gevalideerd|nagegaan)",
            r"zonder dat er (?:gecontroleerd|gekeken|gecheckt)",
            r"not (?:checked|verified|validated)",
            r"no (?:check|validation|authori[sz]ation)",
            r"authori[sz]",
            r"autorisatie",
        ),
        weight=2,
    ),
    # What a leak exposes; customers asking about a phishing mail speak of "bank details".
    ReportSignal(
        "data-exposure",
        (
            r"(?:naam|name)(?:,| en| and) (?:adres|address)",
            r"persoonsgegevens",
            r"personal data",
            r"privacy",
            r"geboortedatum",
            r"date of birth",
            r"bsn\b",
            r"burgerservicenummer",
            r"(?:gegevens|data|details|informatie|information) (?:van|of) (?:andere|een andere"
            r"|other|another|iemand|someone)",
            r"database",
        ),
        weight=3,
    ),
    # Phishing as the consequence of a weakness ("makes phishing easier"), not as the topic.
    ReportSignal(
        "phishing-as-impact",
        (
            r"(?:enables?|allows?|facilitates?|easier|makkelijker|eenvoudiger|vergemakkelijkt"
            r"|helps?) (?:\w+ ){0,3}?phish",
            r"phish\w{0,8} (?:easier|makkelijker|eenvoudiger|mogelijk|possible)",
            r"(?:used|abused|misbruikt|gebruikt|misused) (?:\w+ ){0,2}?(?:for|in|voor|bij) phish",
        ),
        weight=3,
    ),
    # A flaw placed in a system: customers have an issue with their bill, not with the server.
    ReportSignal(
        "flaw-in-system",
        (
            r"(?:issue|problem|probleem|fout|bug|flaw|weakness|zwakte|gat) (?:on|in|with|op|met"
            r"|bij) (?:your|jullie|uw|the|de|het) (?:website|site|web ?app|app|portal|portaal"
            r"|server|systeem|systems?|omgeving|login|inlog|api|mail ?server|domain|domein)",
        ),
        weight=3,
    ),
    # Words a reporter puts in a subject line; a lure's "Security alert" in a forwarded
    # subject costs a phishing forward little, it scores well above the threshold.
    ReportSignal(
        "security-subject",
        (r"security", r"beveilig", r"veiligheid", r"lek\b", r"leak", r"bug", r"hack"),
        fields=("subject",),
        weight=3,
    ),
    ReportSignal(
        "attack-words",
        (
            r"attacker",
            r"aanvaller",
            r"kwaadwillend",
            r"malicious",
            r"hacker",
            r"gehackt",
            r"hacked",
        ),
        weight=3,
    ),
    ReportSignal(
        "bug-words",
        (
            r"bugs?\b",
            r"lek\b",
            r"leak",
            r"lekt\b",
            r"getest\b",
            r"tested\b",
            r"cookie",
            r"sessie",
            r"session",
            r"token",
            r"header",
            r"devtools",
            r"console\b",
            r"uitlog",
            r"(?:log|logged|logging) out\b",
            r"logout",
            r"certifica",
            r"password reset",
            r"reset (?:link|token|code)",
            r"wachtwoord ?(?:herstel|reset|vergeten)",
            # A follow-up on an earlier report arrives unthreaded now and then.
            r"(?:my|the|our) (?:previous |earlier |original )?(?:report|disclosure)\b",
            r"i reported\b",
            r"(?:eerdere|vorige|mijn) (?:melding|rapportage) (?:van|over|aan)",
        ),
        weight=2,
    ),
    # A part of the website named as the place something happens: customers name the topic
    # ("my invoice"), people reporting a flaw name the page ("the invoice page").
    ReportSignal(
        "web-surface",
        (
            r"(?:betaal|factuur|facturen|inlog|login|zoek|contact|registratie|klant(?:en)?"
            r"|account|download|upload)(?:pagina|omgeving|portaal|formulier|module|functie)",
            r"(?:payment|invoice|billing|login|search|contact|checkout|registration|account"
            r"|download|upload) (?:page|form|portal|module|flow|function)",
            r"checkout",
            r"webshop",
        ),
        weight=2,
    ),
    ReportSignal("domain-words", (r"domain", r"domein"), weight=1),
    ReportSignal("api-url", when=_url_api, weight=2),
    ReportSignal("url-with-parameters", when=_url_with_parameters, weight=1),
    ReportSignal("ip-address", when=_ip_address, weight=1),
)
