"""Diagnostic phrases per bounce reason (sisimai's vocabulary), as bounded regular expressions.

Each entry is a regular expression over lower-cased text whose whitespace is collapsed to
single spaces. Gaps between words are bounded (`.{0,40}`) so that matching stays linear in
the size of the text. The phrases are the wording MTAs and providers use; they were written
after sisimai's lib/Sisimai/Reason/*.pm lists and real notices, not copied from samples.
"""

from __future__ import annotations

import re

PHRASES: dict[str, list[str]] = {
    "mailboxfull": [
        r"mailbox (?:is |was )?full",
        r"mailbox.{0,30}(?:quota|exceed|over ?quota|size limit)",
        r"(?:over|exceed(?:ed|s)?|exceeding) (?:the |his |her |their |its )?(?:disk |storage |"
        r"mailbox |user |account )?quota",
        r"(?<!message )quota (?:exceeded|violation|full)",
        r"(?:disk|storage) (?:quota|space).{0,20}(?:exceed|full|reached)",
        r"insufficient (?:disk|storage) space|not (?:enough|sufficient) (?:disk |storage )?space",
        r"no space left on device|full mailbox|mailfolder is full|inbox is full",
        r"user'?s? (?:mailbox|space|storage).{0,20}(?:full|used up|exceed)",
        r"user has (?:too many messages|exceeded)",
        r"exceeded storage allocation|storage (?:allocation )?exceeded",
        r"account is (?:over|full|at) .{0,10}quota|account (?:is )?full",
        r"mailbox exceeds allowed size|maildir.{0,20}quota|too much mail data",
        r"boite du destinataire pleine|postfach (?:ist )?voll",
        r"their mailbox is full|recipient'?s? mailbox (?:is )?full",
        r"mailbox (?:size limit exceeded|would exceed)|quota violation|user has exceeded quota",
        r"(?:space|storage) has been used up|not enough (?:free )?space|over ?quota",
        r"does not have enough space|(?:be )?over the allowed quota|reached disk quota",
        r"for exceeding receiving limits",
        r"diskspace quota|(?:user|domain)disk quota",
        r"mail file size exceeds the maximum size allowed for mail delivery",
    ],
    "mesgtoobig": [
        r"message (?:is )?too big(?! for (?:the )?(?:mailbox|recipient))",
        r"message (?:is )?too large for this ",
        r"message (?:file |length |size )?(?:too big|exceeds? (?:the )?(?:fixed |maximum |"
        r"administrative )?(?:message )?(?:size|length|limit))",
        r"(?:exceeded|exceeds) (?:the )?maximum (?:inbound |incoming )?message size",
        r"max(?:imum)? message size exceeded|line limit exceeded|size limit",
        r"taille limite du message atteinte",
        r"exceeds? (?:the )?maximum (?:allowed )?(?:value|size)|message file too big",
        r"message size exceeds fixed maximum",
    ],
    "exceedlimit": [
        r"message length exceeds limit set by recipient",
        r"message header size exceeds limit",
        r"exceeds? (?:the )?(?:recipient|per-mailbox|mailbox)'?s? (?:size |length )?limit",
        r"exee?ded the maximum size the user accepts",
        # Said alone, sisimai reads it as the receiver's limit (ExceedLimit); "too large for
        # this system" is the system's (MesgTooBig, above in PRIORITY).
        r"message (?:is )?too large(?! for (?:the )?(?:mailbox|recipient))",
    ],
    "suspend": [
        # "Mailbox is inactive" is sisimai's unknown mailbox, not a suspended one.
        r"(?:account|mailbox(?! is inactive)|user|address|recipient)(?: is| has been)? "
        r"(?:currently |temporarily )?"
        r"(?:suspended|disabled|deactivated|inactive|frozen|locked|blocked)",
        r"(?:disabled|inactive|suspended|deactivated|archived|closed) (?:recipient|account|"
        r"mailbox|user|address)",
        r"email account that you tried to reach is (?:disabled|inactive)",
        r"has been (?:disabled|suspended|deactivated|terminated)",
        r"is a deactivated mailbox|user is terminated|recipient suspend",
        r"le compte du destinataire est bloque|boite du destinataire archivee",
        r"no longer accepts mail|disabled or discontinued|administrat\w{0,6} disabled",
        r"is currently suspended|temporar(?:y|ily) (?:locked|inactive)|or domain is disabled",
        r"mailbox unavailable or access denied",
    ],
    "hasmoved": [
        r" has been replaced by ",
        r"(?:mailbox|address|recipient|user) has moved",
        r"recipient no longer on server"
        r"|(?<!wrong or )no longer (?:valid|on this server|at this address)",
        r"not our user",
    ],
    "norelaying": [
        r"relay(?:ing)? (?:access )?(?:denied|not (?:permitted|allowed))|no relaying",
        r"unable to relay|relaying mail to .{0,60} is not allowed|not allowed to relay",
        r"insecure mail relay|as a relay|not an open relay|we don'?t handle mail for",
        r"relay not permitted|relaying denied|not a gateway|not local host",
        r"(?<!authenticate or the )domain isn'?t in my list of allowed rcpthosts?",
        r"this system is not configured to relay",
        r"requires authentication when attempting to send to a non-local",
        r"not (?:permitted|allowed) to relay|specified domain is not allowed",
        r"email address is not verified\.",
    ],
    "authfailure": [
        r"\bdmarc\b.{0,80}(?:policy|fail|reject|verification)|(?:policy|fail|reject|"
        r"verification).{0,40}\bdmarc\b",
        r"\bspf\b.{0,60}(?:fail|record|check|violation|not pass)|sender policy framework",
        r"//spf\.pobox\.com|not allowed to send .{0,40}spf|inspect your spf settings",
        r"\bdkim\b.{0,60}(?:fail|invalid|not pass|no (?:valid|passing))",
        r"(?:unauthenticated|not authenticated) (?:email|mail|message)s? from",
        r"doesn'?t meet the (?:required )?authentication (?:level|requirements)",
        r"5\.7\.2[0-4,6]\b",
        r"is not allowed to send mail\..{0,100}_401",
    ],
    "requireptr": [
        r"reverse dns|\brdns\b|\bptr\b.{0,30}record|ptr record",
        r"cannot find your hostname|cannot resolve your address|ip name lookup failed",
        r"mismatches client ip|unresolvable relay host name|sender ip reverse lookup",
        r"no reverse dns|hosts? with dynamic ip or generic dns",
        r"unverif(?:y|i)able sending ips?|forward dns entry does not point",
        r"dns lookup failure: .{1,100} try again later",
    ],
    "notcompliantrfc": [
        r"not rfc ?5322 compliant|rfc ?5322 (?:violation|non-?compliant)|rfcmessagenoncompliant",
        r"duplicate header|\bmultiple .{1,40} headers?\b|there are multiple \w{1,40} headers",
    ],
    "badreputation": [
        r"reputation|unexpected volume or user complaints",
    ],
    "virusdetected": [
        r"(?<!spam or )(?<!spam/)virus|malware|infected"
        r"|executable (?:file|attachment)(?!s are not allowed)"
        r"|potentially executable",
        r"mcspamsignature|(?<!email rejected due to )security policies",
    ],
    "spamdetected": [
        r"(?<!sending )\bspam\b(?! ?cop| ?ips| reporting address)|\bube\b"
        r"|\bbulk (?:e-?mail|mail)\b|unsolicited",
        r"message content rejected|content (?:filter )?reject|rejecting (?:mail |banned )?content",
        r"message rejected for policy reasons|mail content denied|blacklisted url"
        r"|\buribl\b|spam-?like",
        r"classified as (?:spam|bulk)|considered (?:as )?(?:spam|junk)|junk mail",
        r"scored? .{0,30}(?:spam )?points|spamassassin",
        r"spamprofiler|unacceptable content|detected that this message is|bulk\.advertising",
        r"sender domain listed at|spamming not allowed|recurrent pattern detection|antispam check",
        r"temporarily blocked by our filter|greylisted.{0,20}please try again in|mail score \(",
        r"mail rejete\. mail rejected\..{0,80}(?<!\d)506(?!\d)|"
        r"help_spam_16|\bdrbl\b|5\.7\.0 reject, id=|blocked for abuse|rule imposed as .{1,80} is "
        r"blacklisted on",
    ],
    "policyviolation": [
        r"\bpolicy (?:reasons|violation|rejection)|denied by policy|organi[sz]ational? (?:policy|"
        r"settings)",
        r"protocol violation|rejected for policy|local policy|by (?:organization|your) policy",
        r"content presents a potential|illegal attachment|not accepting mail with",
        r"header (?:error|are not accepted)|rejected due to security policies",
        r"members-only list|closed mailing list|not subscribed to this group",
        r"message given low priority|messages with multiple addresses|mass mailer",
        r"do not accept messages containing images or other attachments",
        r"allowable number of posts without solving a captcha",
        # A refusal the receiver puts down to its policy ("denied by policy", "message not
        # accepted for policy reasons"); a host, an IP or a sender refused is another reason.
        r"(?<!host )(?<!ip )(?<!helo )(?<!address )(?:denied|rejected|refused|not (?:accepted|"
        r"allowed)) (?:by|for|due to) (?:[\w'-]{1,30} ){0,2}polic(?:y|ies)\b",
    ],
    "contenterror": [
        r"header size exceeds|invalid mime|mime complexity|header size, or recipient list, exceeds",
        r"improper(?:ly)?[ -](?:use of 8-bit|formatted)|unnecessary base64",
        r"too many received: headers|too many \"?received\"? headers",
    ],
    "userunknown": [
        r"(?<!in email )(?:user|mailbox|recipient|address|account|addressee|local.?part) "
        r"(?:is )?(?:unknown|"
        r"not (?:found|known|exist|present|valid|listed|active))",
        r"unknown (?:user|recipient|mailbox|local.?part|e-?mail address|account)",
        r"no such (?:user|mailbox|recipient|address|person|account)",
        r"\b(?:user|mailbox|recipient|address|account)\b(?:(?!domain|host).){0,40}"
        r"(?:does ?n[o']t|did not) exist",
        r"@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}>?[.:,]{0,3} ?(?:does ?n[o']t|did not) exist",
        r"invalid (?:recipient|mailbox|address|user|e-?mail address)|(?:recipient|address|"
        r"mailbox) (?:is )?invalid",
        r"(?:recipient|mailbox|e-?mail address|address) (?:could not|couldn'?t|cannot|"
        r"can'?t) be found",
        r"(?:not|isn'?t) a (?:valid|known|local) (?:user|recipient|mailbox|address)",
        r"no (?:mailbox|account|user) (?:by that name|here|found|available)",
        r"mailbox (?:unavailable|unavaiable|not available)|address unknown|"
        r"recipient address rejected: access denied",
        r"recipient address rejected: (?:unknown(?! domain)|invalid|user)|please check (?:if|"
        r"that) (?:the )?(?:e-?mail )?address is correct",
        r"addressee unknown|bad (?:destination )?(?:recipient|mailbox|address)|"
        r"non-?existent (?:user|mailbox|address)",
        r"user (?:not|isn'?t) (?:listed|in|here)|not listed in (?:the )?(?:public |"
        r"domino )?(?:name|directory)",
        r"recipnotfound|recipientnotfound|recipient not found|destination addresses were unknown",
        r"inactive (?:email )?address|this user doesn'?t have|no one at this address",
        r"recipient name is not recognized|invalid final delivery userid",
        r"badrcptto|validrcptto|not in my list of valid|unknown or illegal (?:user|alias)",
        r"utilisateur inconnu|unbekannt|sconosciuto|nessun utente|no existe",
        r"destination server rejected recipients|not present in (?:the )?directory",
        r"mailbox not present|can'?t accept user|is not an active address|invalid mailbox path",
        r"no valid recipients(?! from)|no mail ?box (?:available )?for this user"
        r"|not a local address",
        r"recipient is not (?:accepted|local)",
        r"recipient not (?:exist|ok)\b|requested action not taken: mailbox unavailable",
        r"resolver\.adr\.recip(?:ient)? ?notfound|envelope recipient has been denied",
        r"(?:e-?mail )?name is not found|wrong or no longer valid|bad ?recipient ?to list",
        r"missing home directory|unknown (?:virtual )?user|adresse nicht gefunden",
        r"does not exist at the organi[sz]ation|not found in (?:the )?(?:name )?directory",
        r"\b(?:user|recipient) [^\s]{1,100} (?:was )?not found\b|\buser \([^()]{1,100}\) unknown",
        r"<[^<>\s@]{1,64}@[^<>\s]{1,255}> not found|rcpt <[^<>\s]{1,255}> does not exist",
        r"5\.1\.0 address rejected|bad[-_]recipient",
        r"mailbox (?:is |\S{1,255}@\S{1,255} )unavailable",
        r"no \S{1,64} in name directory|account unavailable:|this spectator does not exist",
        r"rejected: account unavailable|recipient refuses to accept your mail",
        r"recipient address rejected\. \(in reply to rcpt to command\)",
        r"the following recipients was undeliverable",
        r"\bnot email addresses|rcpt \([^()]{1,255}\) does ?n[o']?t exist|mailbox is inactive",
        r"<[^<>\s]{1,255}>\.\.\. blocked by ",
        # The reply says no more than that (the address) does not exist.
        r"\b[45]\d\d[ -](?:[45]\.\d{1,3}\.\d{1,3} )?does not exist\.",
    ],
    "hostunknown": [
        r"(?<!\.: )(?:host|domain)(?: or domain)? (?:name )?(?:not found|unknown|does not exist|"
        r"doesn'?t exist|unreachable|is not reachable|must exist)",
        r"unknown (?:host|domain)|no such (?:host|domain)|invalid domain(?!,? see)",
        r"unroutable address|unrouteable address|name or service not known",
        r"domain (?:name )?(?:not found|is unknown|mentioned in email address is unknown)",
        r"nxdomain|domain not found|bad destination (?:system|host)",
        r"all host address lookups failed permanently|mx records point to non-existent hosts",
        r"couldn'?t find any host (?:named|by that name)",
        r"(?<![@\w.-])[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,7}\.[a-z][a-z0-9-]{0,62} "
        r"does ?n[o']t exist",
        r"\bhost [\w.-]{1,250} not found",
        r"the account or domain may not exist",
        # A 553 naming something that "does not exist" is about the domain (sisimai's pair).
        r"\b553 (?:[^ ]{1,255} ){1,3}does not exist",
    ],
    "filtered": [
        r"message filtered|filtered by|user reject|refuses? to (?:accept|receive)",
        r"is not accepting any mail|recipient preferences|blocked by the recipient",
        r"only accepting mail from specific|has restricted sms|account is protected",
        r"previously (?:been )?bounced|bounced address|cannot route mail to user",
        r"rejected due to user rules|refuses? to receive|you have been blocked by the recipient",
        r"not found recipient account|resolver\.rst\.notauthorized",
        r"due to extended inactivity new mail is not currently being accepted",
    ],
    "rejected": [
        r"sender (?:address |email address |domain |ip )?(?:rejected|refused|denied|invalid|"
        r"not (?:allowed|accepted|pre-approved))",
        r"(?:invalid|unknown|bad|bogus|unroutable|unverified) (?:sender(?! ip)|mail from|"
        r"envelope sender|return.?path|from address)",
        r"domain of sender address|sender verify failed|"
        r"can'?t determine purported responsible address",
        r"(?:sender|from) (?:address |domain )?(?:is )?(?:blacklisted|in my black ?list|"
        r"on .{0,20} list)",
        r"(?:empty|null) (?:envelope )?senders? (?:not allowed|is not allowed)|bouncedeny",
        r"returned mail not accepted|no third-party dsns|batv|mail from not owned",
        r"provide a valid (?:from|sender)|fully qualified email address required",
        r"not allowed to post to this mailing list|valid-address-filter",
        r"sender isn'?t on the recipient'?s list|without a valid sender domain|envelope blocked",
        r"emetteur invalide|not a registered gateway user|sender is spammer|sender domain is empty",
        r"empty e-?mail address|this server does not accept mail from|unsigned dsn",
        r"your (?:e-?mail )?address has been blacklisted",
        r"administrative prohibition|backscatter protection|senderfilterconfig",
        r"email address is not verified|sender (?:address )?(?:has been blacklisted|was rejected)",
        r"address that has been blacklisted",
        r"access denied \(in reply to mail from command\)",
        r"recipient addresses rejected : access denied",
        r"\bbadsendermx\b|\bsendernoa\b|has an outgoing mail suspension|not member article from",
        r"sending this from a different address or alias",
        r"your access to submit messages to this e-mail system has been rejected",
        r"server does not accept mail from",
        r"(?<!recipient )(?<!ip )(?<!5\.1\.\d )address rejected(?!:)"
        r"|delivery not authorized, message refused",
        r"does not exist e2110|invalid domain, see <url:|rfc 1035 violation: recursive cname"
        r"|rule imposed mailbox access for",
        r"\bsender <?[^\s<>@]{1,64}@[^\s<>]{1,255}>? (?:was )?rejected",
        r"spam reporting address",
    ],
    "speeding": [
        r"please try again slower|temporarily rate limited|at a rate that prevents",
    ],
    "toomanyconn": [
        r"too many (?:connections|concurrent|sessions|smtp sessions|errors|recipients|messages)",
        r"connection rate limit|frequency limit|(?:connection|session) limit|"
        r"rate limit(?:ed)? exceeded",
        r"throttl|exceeded the max emails per hour|trop de connexions",
        r"maximum (?:connection|sending rate)|message quota exceeded",
        r"numerous attempts to deliver this message",
    ],
    "blocked": [
        r"\bblock(?:ed|ing)? (?:by|for|using|list|due)|(?:ip|host|client|server|sender|"
        r"domain) .{0,40}(?:is |was |has been )?blocked",
        r"black ?list(?:ed)?|block ?list(?:ed)?|deny ?list|dnsbl|\brbl\b|spamhaus|spamcop|sorbs|"
        r"barracudacentral",
        r"banned sending ip|bad sender ip|your ip|sending ip|from your ip|"
        r"ip address .{0,40}(?:rejected|listed|blocked)",
        r"client host .{0,40}rejected|client host rejected|host network not allowed|dynamic ip",
        r"helo command rejected|not allowed to connect|go away|connection refused by",
        r"not currently accepting mail from|rejected - see|refused - see",
        r"too many unwanted messages|relay quota|your network",
        r"mail from .{0,60} refused",
        r"connection (?:was )?dropped|connection reset by peer|not accepting connections",
        r"no access from mail server|use the smtp server of your isp|rejecting open proxy",
        r"forbidden by your ip|suspiciously like (?:a )?spammer|listed as abusive",
        r"requires confirmation|confirm this mail server|user complaints",
        r"not allowed to send mail from",
        r"\b5\d\d blocked\b|blocked - see|sending spam|spam ips blocked|bad ip profile",
        r"invalid ip for sending|your access ip .{1,60} rejected|has not passed validation",
        r"closing transmission channel|no matches to nameserver query",
        r"no valid recipients from|:blocked\)|refused to talk to me: .{0,200}\bblocked",
        r"smtp error from remote mail server after initial connection",
        r"to submit messages to this e-mail system has been rejected",
        r"service refused, please try later\..{0,80}(?<!\d)(?:103|510)(?!\d)",
    ],
    "systemfull": [
        r"mail system full|system (?:disk )?(?:is )?full|exceeded storage allocation",
        r"not enough free space",
    ],
    "notaccept": [
        r"does not accept (?:any )?mail|not accepting (?:any )?(?:mail|messages)|null ?mx",
        r"no mx record|mail receiving disabled|doesn'?t receive email",
        r"no route for current request|name server: \.: host not found",
        r"mx or srv record indicated no smtp service|no host found for existing smtp connection",
        r"couldn'?t find a mail exchanger or ip address",
        r"smtp protocol returned a permanent error",
    ],
    "failedstarttls": [
        r"starttls is required|tls required but not supported|must issue a starttls",
    ],
    "securityerror": [
        r"authentication (?:required|failure|failed|credentials invalid)|not authorized|"
        r"unauthenticated",
        r"verification failure|insecure|delivery not authorized|not permitted",
        r"you don'?t authenticate|account not subscribed|is a dead domain",
        r"authentication turned on|authentication is required|executable files are not allowed",
        r"authentification (?:invalide|requise)",
    ],
    "networkerror": [
        r"no route to host|host is unreachable|network (?:is )?unreachable|network error",
        r"mail (?:forwarding )?loop|routing loop|too many hops|hop count exceeded|message looping",
        r"(?:dns|name service|host name) (?:lookup )?(?:error|failure)|dns error|"
        r"malformed .{0,20}name server reply",
        r"unable to resolve route|unrouteable mail domain|lost connection|connection reset",
        r"could not connect and send|dns records for the destination",
        r"host not found, try again|forwarding loop count exceeded",
    ],
    "systemerror": [
        r"system (?:config(?:uration)? )?error|server configuration error|"
        r"local configuration error",
        r"local error in processing|temporary local problem|internal (?:server )?error",
        r"service currently unavailable|server is misconfigured|queue file write error",
        r"interrupted system call|timeout waiting for input|loops back to myself|"
        r"create a mail loop",
        r"transaction failed|could not load drd|unable to connect .{0,40}daemon|ldap server",
        r"duplicated message-id|loop (?:alert|detected|was found)|aliasing/forwarding loop",
        r"encountered an error while being processed|service refuse",
        r"delivery to (?:file|pipe) forbidden|local delivery failed|lmtp error after",
        r"homedir creat|bad interpreter|ldap (?:lookup|search|attribute)|several matches found",
        r"can'?t create user output file|internal error reading data|there is no mdb",
        r"mail system configuration error",
    ],
    "expired": [
        r"(?:delivery|message|time) (?:has )?(?:expired|timed out|time expired)|queue\.expired",
        r"connection timed out|timed out|timeout exceeded|retry time(?:out)? (?:not reached|"
        r"exceeded)",
        r"giving up|gave up|give up|could not deliver for|could not be delivered for|"
        r"not (?:been )?delivered within",
        r"in the queue too long|too long in queue|sitting in queue|will be retried|"
        r"delivery attempts will continue",
        r"(?:did not|does not|not) respond(?:ing)?|could not find a gateway|has been delayed|"
        r"have been failing",
        r"delivery to the following recipient has been delayed|unable to deliver .{0,40}after",
        r"cannot send message for|was not reachable within|not accept our requests to connect",
        r"connection refused|couldn'?t connect|could not connect|unable to connect|socket error",
        r"establish an smtp connection|host not reachable|aborted after",
        r"have been failing for a long time|no action is required on your part|delay reason:",
        r"\bfrozen\b",
        r"failed to deliver to domain|has not been collected after",
    ],
    "mailererror": [
        r"\bpipe to \||procmail|bin/maildrop|command (?:failed|died|output)|mailer error",
        r"\|\| exit |x-unix;",
        # Exim's pipe transport (transports/pipe.c): the program the address ran failed.
        r"child process of \S{1,60} transport returned \d",
    ],
    "syntaxerror": [
        r"malformed address|angle-brackets nested too deep|domain missing in source-routed",
        r"syntax error in (?:parameters|arguments)|command unrecognized|bad sequence of commands",
    ],
    "onhold": [
        r"\bon hold\b",
    ],
}

# Compiled once: one alternation per reason.
COMPILED: dict[str, re.Pattern[str]] = {
    reason: re.compile("|".join(f"(?:{p})" for p in phrases)) for reason, phrases in PHRASES.items()
}


def matches(reason: str, text: str) -> bool:
    pattern = COMPILED.get(reason)
    return bool(pattern and text and pattern.search(text))
