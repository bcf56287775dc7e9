#!/usr/bin/env python3
"""Regenerate the sample Active Directory exports in samples/.

One data definition (the list of objects below) produces:

* corp.ldf              - the domain as `ldifde -f corp.ldf` writes it (default ANSI mode)
* corp.csv              - the same objects as `csvde -f corp.csv` writes them (default ANSI mode)
* corp-large-group.ldf  - a group with 1510 members, written as ldifde writes attributes with
                          more values than MaxValRange (1500): an add record with the first 1500
                          values and a follow-up `changetype: modify` record for the rest

Usage: python3 samples/make_samples.py [OUTPUT_DIR]   (default: the directory of this script)

The output is deterministic: GUIDs are UUIDv5 values derived from each object's DN, SIDs come
from a fixed RID sequence, dates and USNs are fixed. Only the standard library is used.
"""

import base64
import datetime as dt
import os
import sys
import uuid

# --------------------------------------------------------------------------------------------
# The directory
# --------------------------------------------------------------------------------------------

DOMAIN = "DC=corp,DC=example,DC=com"
NETBIOS = "CORP"
UPN_SUFFIX = "corp.example.com"
SMTP_DOMAIN = "corp.example.com"
DOMAIN_SID = (1004336348, 1177238915, 682003330)
CONFIG = "CN=Configuration," + DOMAIN
SCHEMA = "CN=Schema," + CONFIG
ORG = "CN=Corp,CN=Microsoft Exchange,CN=Services," + CONFIG
AG = "CN=First Administrative Group,CN=Administrative Groups," + ORG
AG_LEGACY = "/o=Corp/ou=First Administrative Group"
X400_SITE = "c=US;a= ;p=Corp;o=Exchange;"
EAP_GUID = "{26491CFC-9E50-4857-861B-0CB8DF22B5D7}"

# Fixed namespace for every derived GUID (objectGUID, msExchMailboxGuid, policy GUIDs).
NS = uuid.UUID("6f1c2b9e-4c1d-5a7b-8e2f-0d3c4b5a6978")

DEFAULT_POLICY_DN = "CN=Default Policy,CN=Recipient Policies," + ORG
DEFAULT_POLICY_GUID = uuid.UUID(bytes=uuid.uuid5(NS, DEFAULT_POLICY_DN.lower()).bytes, version=4)
# The "Partners" recipient policy of samples/policy.toml (contacts and mail users).
PARTNERS_POLICY_GUID = uuid.UUID("0F5B7D3E-2C1A-4B8E-9F6D-1A2B3C4D5E6F")
PARTNERS_SMTP = "partners.corp.example.com"


def server(name):
    dn = "CN=%s,CN=Servers,%s" % (name, AG)
    return {
        "dn": dn,
        "legacy": "%s/cn=Configuration/cn=Servers/cn=%s" % (AG_LEGACY, name),
        "store": "CN=Mailbox Store (%s),CN=First Storage Group,CN=InformationStore,%s" % (name, dn),
        "mta": "CN=Microsoft MTA," + dn,
    }


SRV = {"SRV01": server("SRV01"), "SRV02": server("SRV02")}

AL = "CN=Address Lists Container," + ORG
GAL = "CN=Default Global Address List,CN=All Global Address Lists," + AL
ALL_USERS = "CN=All Users,CN=All Address Lists," + AL
ALL_CONTACTS = "CN=All Contacts,CN=All Address Lists," + AL
ALL_GROUPS = "CN=All Groups,CN=All Address Lists," + AL

CAT_PERSON = "CN=Person," + SCHEMA
CAT_GROUP = "CN=Group," + SCHEMA
CAT_COMPUTER = "CN=Computer," + SCHEMA
CAT_OU = "CN=Organizational-Unit," + SCHEMA
CAT_CONTAINER = "CN=Container," + SCHEMA
CAT_DOMAIN = "CN=Domain-DNS," + SCHEMA

NEVER = "9223372036854775807"
SELF_SID = bytes.fromhex("01010000000000050a000000")

UF_NORMAL = 512
UF_DISABLED = 514
UF_NOEXPIRE = 66048

GT_GLOBAL_SEC = -2147483646
GT_LOCAL_SEC = -2147483644
GT_UNIVERSAL_SEC = -2147483640
GT_UNIVERSAL_DIST = 8
SAM_TYPE = {
    GT_GLOBAL_SEC: 268435456,
    GT_UNIVERSAL_SEC: 268435456,
    GT_LOCAL_SEC: 536870912,
    GT_UNIVERSAL_DIST: 268435457,
}


def ou(name):
    return "OU=%s,%s" % (name, DOMAIN)


STAFF, RESOURCES, PARTNERS, GROUPS = ou("Staff"), ou("Resources"), ou("Partners"), ou("Groups")
DISABLED, WAVE2 = ou("Disabled"), ou("Wave2")
USERS = "CN=Users," + DOMAIN
COMPUTERS = "CN=Computers," + DOMAIN


def ts(s):
    """'2004-03-01 10:15:22' -> datetime (UTC)."""
    return dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S")


def gtime(t):
    return t.strftime("%Y%m%d%H%M%S") + ".0Z"


def filetime(t):
    return str(int((t - dt.datetime(1601, 1, 1)).total_seconds()) * 10_000_000)


def sid(rid):
    if rid is None:
        return None
    subs = (21,) + DOMAIN_SID + (rid,)
    out = bytes([1, len(subs)]) + (5).to_bytes(6, "big")
    for s in subs:
        out += s.to_bytes(4, "little")
    return out


def guid(kind, dn):
    """A fixed, random-looking (version 4 layout) GUID derived from a name."""
    return uuid.UUID(bytes=uuid.uuid5(NS, kind + ":" + dn.lower()).bytes, version=4)


def rdn_escape(value):
    """Escape an RDN value per RFC 4514 (only what these names need)."""
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;=' or (ch == "#" and i == 0) or (ch == " " and i in (0, len(value) - 1)):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Object definitions
# --------------------------------------------------------------------------------------------
# Each object is a dict: dn, kind, created, changed, attrs (name -> list of str|bytes), and
# bookkeeping (rid, members). System attributes are filled in by finish().

OBJECTS = []


def add(obj):
    OBJECTS.append(obj)
    return obj


def base(dn, kind, created, changed, classes, category):
    return {
        "dn": dn,
        "kind": kind,
        "created": ts(created),
        "changed": ts(changed or created),
        "classes": classes,
        "category": category,
        "attrs": {},
        "rid": None,
        "members": [],
    }


def container(dn, created, changed=None, classes=("top", "container"), category=CAT_CONTAINER,
              extra=None):
    o = base(dn, "container", created, changed, list(classes), category)
    o["attrs"].update(extra or {})
    return add(o)


def x400(surname=None, given=None, initials=None, alias=None):
    s = X400_SITE
    s += "s=%s;" % (surname or alias)
    if given:
        s += "g=%s;" % given
    if initials:
        s += "i=%s;" % initials
    return s


def stamp(o, alias, primary, secondaries=(), x400addr=None, extra_proxies=(), lists=(GAL,),
          policy=DEFAULT_POLICY_GUID):
    """Exchange attributes as the RUS wrote them (already-stamped recipient)."""
    a = o["attrs"]
    a["mailNickname"] = [alias]
    a["legacyExchangeDN"] = ["%s/cn=Recipients/cn=%s" % (AG_LEGACY, alias)]
    proxies = []
    if x400addr:
        proxies.append("X400:" + x400addr)
    proxies += ["smtp:" + s for s in secondaries]
    proxies.append("SMTP:" + primary)
    proxies += list(extra_proxies)
    a["proxyAddresses"] = proxies
    a["mail"] = [primary]
    if x400addr:
        a["textEncodedORAddress"] = [x400addr]
    if lists:
        a["showInAddressBook"] = list(lists)
    a["msExchPoliciesIncluded"] = ["{%s},%s" % (str(policy).upper(), EAP_GUID)]
    if "displayName" not in a:
        a["displayName"] = [alias]  # the RUS sets displayName := mailNickname when absent
    a["msExchALObjectVersion"] = [str(20 + len(OBJECTS) % 37)]


def mailbox_attrs(o, srv, home_mdb=True, home_server=True, home_mta=True, guid_=True,
                  defaults=True):
    a = o["attrs"]
    s = SRV[srv]
    if home_mdb:
        a["homeMDB"] = [s["store"]]
    if home_server:
        a["msExchHomeServerName"] = [s["legacy"]]
    if home_mta:
        a["homeMTA"] = [s["mta"]]
    if guid_:
        a["msExchMailboxGuid"] = [guid("mailbox", o["dn"]).bytes_le]
    if defaults:
        a["mDBUseDefaults"] = ["TRUE"]


def user(parent, cn, given=None, sn=None, sam=None, created="2005-01-01 09:00:00", changed=None,
         uac=UF_NORMAL, display=True, initials=None, title=None, department=None,
         company="Corp", phone=None, office=None, description=None, logons=True, extra=None,
         classes=("top", "person", "organizationalPerson", "user"), category=CAT_PERSON,
         upn=True):
    dn = "CN=%s,%s" % (rdn_escape(cn), parent)
    o = base(dn, "user", created, changed, list(classes), category)
    o["cn"] = cn
    o["sam"] = sam
    o["uac"] = uac
    o["logons"] = logons
    a = o["attrs"]
    if sn:
        a["sn"] = [sn]
    if title:
        a["title"] = [title]
    if description:
        a["description"] = [description]
    if office:
        a["physicalDeliveryOfficeName"] = [office]
    if phone:
        a["telephoneNumber"] = [phone]
    if given:
        a["givenName"] = [given]
    if initials:
        a["initials"] = [initials]
    if display:
        a["displayName"] = [cn if display is True else display]
    if department:
        a["department"] = [department]
    if company:
        a["company"] = [company]
    if upn and sam:
        a["userPrincipalName"] = ["%s@%s" % (sam, UPN_SUFFIX)]
    a.update(extra or {})
    return add(o)


def contact(cn, given=None, sn=None, created="2008-01-01 09:00:00", changed=None, company=None,
            phone=None, extra=None):
    dn = "CN=%s,%s" % (rdn_escape(cn), PARTNERS)
    o = base(dn, "contact", created, changed,
             ["top", "person", "organizationalPerson", "contact"], CAT_PERSON)
    o["cn"] = cn
    a = o["attrs"]
    if sn:
        a["sn"] = [sn]
    if phone:
        a["telephoneNumber"] = [phone]
    if given:
        a["givenName"] = [given]
    a["displayName"] = [cn]
    if company:
        a["company"] = [company]
    a.update(extra or {})
    return add(o)


def group(parent, cn, group_type, sam=None, created="2005-01-01 09:00:00", changed=None,
          description=None, members=(), extra=None):
    dn = "CN=%s,%s" % (rdn_escape(cn), parent)
    o = base(dn, "group", created, changed, ["top", "group"], CAT_GROUP)
    o["cn"] = cn
    o["sam"] = sam or cn
    o["group_type"] = group_type
    o["members"] = list(members)
    a = o["attrs"]
    if description:
        a["description"] = [description]
    a.update(extra or {})
    return add(o)


def computer(name, created, changed, rid_hint=None):
    dn = "CN=%s,%s" % (name, COMPUTERS)
    o = base(dn, "computer", created, changed,
             ["top", "person", "organizationalPerson", "user", "computer"], CAT_COMPUTER)
    o["cn"] = name
    o["sam"] = name + "$"
    o["uac"] = 4096
    o["logons"] = True
    fq = "%s.%s" % (name.lower(), UPN_SUFFIX)
    o["attrs"].update({
        "operatingSystem": ["Windows Server 2003"],
        "operatingSystemVersion": ["5.2 (3790)"],
        "operatingSystemServicePack": ["Service Pack 2"],
        "dNSHostName": [fq],
        "servicePrincipalName": [
            "exchangeMDB/" + fq, "exchangeMDB/" + name,
            "SMTPSVC/" + fq, "SMTPSVC/" + name,
            "HOST/" + fq, "HOST/" + name,
        ],
    })
    return add(o)


def define():
    # ---- the domain head and default containers ---------------------------------------
    container(DOMAIN, "2004-03-01 10:15:22", "2024-02-20 07:41:09",
              classes=("top", "domain", "domainDNS"), category=CAT_DOMAIN, extra={
                  "dc": ["corp"],
                  "creationTime": ["133530540000000000"],
                  "forceLogoff": ["-9223372036854775808"],
                  "lockoutDuration": ["-18000000000"],
                  "lockOutObservationWindow": ["-18000000000"],
                  "lockoutThreshold": ["0"],
                  "maxPwdAge": ["-36288000000000"],
                  "minPwdAge": ["-864000000000"],
                  "minPwdLength": ["7"],
                  "modifiedCount": ["1"],
                  "nextRid": ["1001"],
                  "pwdProperties": ["1"],
                  "pwdHistoryLength": ["24"],
                  "wellKnownObjects": [
                      "B:32:A9D1CA15768811D1ADED00C04FD8D5CD:" + USERS,
                      "B:32:AA312825768811D1ADED00C04FD8D5CD:" + COMPUTERS,
                  ],
                  "gPLink": ["[LDAP://CN={31B2F340-016D-11D2-945F-00C04FB984F9},"
                             "CN=Policies,CN=System,%s;0]" % DOMAIN],
                  "isCriticalSystemObject": ["TRUE"],
                  "ms-DS-MachineAccountQuota": ["10"],
                  "msDS-Behavior-Version": ["2"],
              })
    DOMAIN_OBJ = OBJECTS[-1]
    DOMAIN_OBJ["domain_sid"] = True
    container(USERS, "2004-03-01 10:15:22", extra={
        "description": ["Default container for upgraded user accounts"],
        "showInAdvancedViewOnly": ["FALSE"], "systemFlags": ["-1946157056"],
        "isCriticalSystemObject": ["TRUE"]})
    container(COMPUTERS, "2004-03-01 10:15:22", extra={
        "description": ["Default container for upgraded computer accounts"],
        "showInAdvancedViewOnly": ["FALSE"], "systemFlags": ["-1946157056"],
        "isCriticalSystemObject": ["TRUE"]})

    # ---- built-in accounts in CN=Users ---------------------------------------------------
    adm = user(USERS, "Administrator", sam="Administrator", created="2004-03-01 10:15:22",
               changed="2024-03-02 08:12:45", uac=UF_NOEXPIRE, display=False, company=None,
               description="Built-in account for administering the computer/domain",
               upn=False, extra={"adminCount": ["1"], "isCriticalSystemObject": ["TRUE"]})
    adm["rid"] = 500
    mailbox_attrs(adm, "SRV01")
    adm["attrs"]["msExchUserAccountControl"] = ["0"]
    stamp(adm, "Administrator", "Administrator@corp.example.com",
          x400addr=x400(alias="Administrator"), lists=(GAL, ALL_USERS))
    guest = user(USERS, "Guest", sam="Guest", created="2004-03-01 10:15:22", uac=66082,
                 display=False, company=None, logons=False, upn=False,
                 description="Built-in account for guest access to the computer/domain",
                 extra={"isCriticalSystemObject": ["TRUE"]})
    guest["rid"] = 501
    krb = user(USERS, "krbtgt", sam="krbtgt", created="2004-03-01 10:16:40", uac=UF_DISABLED,
               display=False, company=None, logons=False, upn=False,
               description="Key Distribution Center Service Account",
               extra={"adminCount": ["1"], "isCriticalSystemObject": ["TRUE"],
                      "showInAdvancedViewOnly": ["TRUE"]})
    krb["rid"] = 502
    da = group(USERS, "Domain Admins", GT_GLOBAL_SEC, created="2004-03-01 10:16:40",
               changed="2004-03-01 10:31:02",
               description="Designated administrators of the domain",
               members=["CN=Administrator," + USERS],
               extra={"adminCount": ["1"], "isCriticalSystemObject": ["TRUE"]})
    da["rid"] = 512
    du = group(USERS, "Domain Users", GT_GLOBAL_SEC, created="2004-03-01 10:16:40",
               description="All domain users", extra={"isCriticalSystemObject": ["TRUE"]})
    du["rid"] = 513

    # ---- Exchange servers and the DomainPrep groups --------------------------------------
    srv01 = computer("SRV01", "2004-03-05 14:02:11", "2024-01-09 03:14:55")
    srv02 = computer("SRV02", "2006-09-18 11:40:37", "2024-01-11 03:15:20")
    group(USERS, "Exchange Domain Servers", GT_GLOBAL_SEC, created="2004-03-06 16:20:05",
          changed="2006-09-18 12:02:48",
          description="Microsoft Exchange Domain Servers",
          members=[srv01["dn"], srv02["dn"]])
    # Left empty on purpose: the RUS Miscellaneous job adds Exchange Domain Servers (§10).
    group(USERS, "Exchange Enterprise Servers", GT_LOCAL_SEC, created="2004-03-06 16:20:05",
          description="Microsoft Exchange Enterprise Servers")

    # ---- OUs -------------------------------------------------------------------------------
    for name, when in (("Staff", "2004-03-10 09:00:14"), ("Resources", "2004-03-10 09:00:31"),
                       ("Partners", "2004-03-10 09:00:52"), ("Groups", "2004-03-10 09:01:07"),
                       ("Disabled", "2004-03-10 09:01:19"), ("Wave2", "2023-12-04 15:22:40")):
        container(ou(name), when, classes=("top", "organizationalUnit"), category=CAT_OU,
                  extra={"ou": [name]})

    # ---- OU=Staff: fully stamped mailboxes --------------------------------------------------
    def full(cn, given, sn, alias, srv, created, changed, initials=None, extra_proxies=(),
             lists=(GAL, ALL_USERS), **kw):
        u = user(STAFF, cn, given, sn, alias, created, changed, initials=initials, **kw)
        mailbox_attrs(u, srv)
        u["attrs"]["msExchUserAccountControl"] = ["0"]
        stamp(u, alias, "%s@%s" % (alias, SMTP_DOMAIN),
              secondaries=["%s.%s@%s" % (ascii_part(given), ascii_part(sn), SMTP_DOMAIN)],
              x400addr=x400(ascii_part(sn, keep_space=True), ascii_part(given), initials),
              extra_proxies=extra_proxies, lists=lists)
        return u

    global JOHN_SMITH
    JOHN_SMITH = full("John Smith", "John", "Smith", "jsmith", "SRV01", "2004-04-02 08:30:11",
                      "2023-11-20 16:05:42", title="Sales Manager", department="Sales",
                      phone="+1 555 0100", office="Building 1",
                      extra_proxies=["X500:/o=CorpOld/ou=SITE1/cn=Recipients/cn=jsmith",
                                     "sip:john.smith@corp.example.com"])
    full("Maria Garcia", "Maria", "Garcia", "mgarcia", "SRV01", "2004-05-17 13:12:09",
         "2022-06-01 10:00:00", department="Engineering", phone="+1 555 0101",
         title="Senior Engineer ")  # trailing space: ldifde writes it base64
    full("François Lefèvre", "François", "Lefèvre", "flefevre", "SRV02", "2006-10-02 09:45:30",
         "2021-03-15 12:30:00", department="Finance", office="Paris",
         extra_proxies=["smtp:francois@corp.example.com"])
    serg = user(STAFF, "Сергей Чергик", "Сергей", "Чергик", "chergik", "2007-02-12 07:05:44",
                "2020-09-09 09:09:09", department="Engineering", office="Moscow")
    mailbox_attrs(serg, "SRV02")
    serg["attrs"]["msExchUserAccountControl"] = ["0"]
    # As in a real E2003 dump: Cyrillic names leave only the alias in SMTP and X.400.
    stamp(serg, "chergik", "chergik@corp.example.com", x400addr=x400(alias="chergik"),
          lists=(GAL, ALL_USERS))
    anna = full("Anna Schmidt", "Anna", "Schmidt", "aschmidt", "SRV02", "2005-08-22 10:10:10",
                "2024-01-08 14:20:00", title="Executive Assistant", department="Board")
    # Hidden, but showInAddressBook still holds the lists: the RUS must empty it (§9.1).
    anna["attrs"]["msExchHideFromAddressLists"] = ["TRUE"]
    full("David Lee", "David", "Lee", "dlee", "SRV01", "2005-02-14 09:00:00",
         "2019-05-05 05:05:05", department="IT", initials="K")
    full("Sophie Wagner", "Sophie", "Wagner", "swagner", "SRV02", "2009-06-30 15:45:00",
         "2023-02-02 11:11:11", department="Marketing")
    full("Ahmed Hassan", "Ahmed", "Hassan", "ahassan", "SRV01", "2010-01-11 08:00:00",
         "2023-08-19 18:00:00", department="IT",
         extra_proxies=["smtp:helpdesk@corp.example.com"])
    full("Laura Rossi", "Laura", "Rossi", "lrossi", "SRV02", "2011-04-04 12:00:00",
         "2022-12-24 08:00:00", department="Legal")

    # Opted out of e-mail address policies; incomplete mailbox (RUS completes home attributes,
    # legacyExchangeDN and msExchMailboxGuid, but must not touch proxyAddresses).
    karen = user(STAFF, "Karen Miller", "Karen", "Miller", "kmiller", "2006-03-03 11:22:33",
                 "2023-05-05 10:00:00", department="Sales")
    mailbox_attrs(karen, "SRV01", home_server=False, home_mta=False, guid_=False)
    karen["attrs"].update({
        "mailNickname": ["kmiller"],
        "proxyAddresses": ["SMTP:karen@corp.example.com", "smtp:kmiller@corp.example.com"],
        "mail": ["karen@corp.example.com"],
        "msExchPoliciesExcluded": [EAP_GUID],
    })

    # Mailbox that wrongly still has a targetAddress (left over from a migration), plus an
    # `info` value with CRLF inside (must be base64).
    tb = full("Thomas Becker", "Thomas", "Becker", "tbecker", "SRV01", "2006-05-15 09:30:00",
              "2023-10-10 10:10:10", department="Operations")
    tb["attrs"]["targetAddress"] = ["SMTP:tbecker@oldcorp.example"]
    tb["attrs"]["info"] = ["Migrated from OLDCORP in 2006.\r\nForwarding removed? See ticket 4711."]

    # Broken recipient: mailNickname but no home attributes and no targetAddress.
    user(STAFF, "Ulrich Weber", "Ulrich", "Weber", "uweber", "2012-07-07 07:07:07",
         "2023-07-07 07:07:07", department="Sales", extra={"mailNickname": ["uweber"]})

    # Mail-enabled users (MEUs): one new (RUS must stamp), one stamped.
    user(STAFF, "Rachel Green", "Rachel", "Green", "rgreen", "2015-03-01 10:00:00",
         "2023-09-01 10:00:00", company="Partner Consulting", department="External",
         extra={"mailNickname": ["rgreen"],
                "targetAddress": ["SMTP:rachel.green@partner.example"]})
    dk = user(STAFF, "Daniel Kim", "Daniel", "Kim", "dkim", "2013-11-11 11:11:11",
              "2022-11-11 11:11:11", company="Partner Consulting", department="External")
    dk["attrs"]["targetAddress"] = ["SMTP:dkim@partner.example"]
    dk["attrs"]["mAPIRecipient"] = ["FALSE"]
    dk["attrs"]["internetEncoding"] = ["0"]
    stamp(dk, "dkim", "dkim@partner.example", secondaries=["Daniel.Kim@" + PARTNERS_SMTP],
          x400addr=x400("Kim", "Daniel"), lists=(GAL, ALL_USERS), policy=PARTNERS_POLICY_GUID)

    # Mailboxes with only mailNickname + homeMDB: the RUS completes them.
    jose = user(STAFF, "José Müller Lüdenscheidt", "José", "Müller Lüdenscheidt", "jmueller",
                "2008-08-08 08:08:08", "2024-01-20 09:00:00", initials="K",
                department="Engineering", office="Köln")
    jose["attrs"]["mailNickname"] = ["jmueller"]
    mailbox_attrs(jose, "SRV02", home_server=False, home_mta=False, guid_=False, defaults=False)
    emma = user(STAFF, "Emma Wilson", "Emma", "Wilson", "ewilson", "2014-02-03 13:00:00",
                "2024-01-20 09:00:05", display=False, department="HR")
    emma["attrs"]["mailNickname"] = ["ewilson"]  # no displayName: RUS sets it to the alias
    mailbox_attrs(emma, "SRV02", home_server=False, home_mta=False, guid_=False)
    global SMITH_COMMA
    SMITH_COMMA = user(STAFF, "Smith, John", "John", "Smith", "smithj", "2016-06-06 06:06:06",
                       "2024-01-20 09:00:10", display="Smith, John", department="Warehouse")
    SMITH_COMMA["attrs"]["mailNickname"] = ["smithj"]
    mailbox_attrs(SMITH_COMMA, "SRV01", home_server=False, home_mta=False, guid_=False)

    # Mailboxes with only mailNickname + msExchHomeServerName (store from the server map).
    wang = user(STAFF, "王 小明", "小明", "王", "wxiaoming", "2017-04-01 02:03:04",
                "2024-01-20 09:00:15", department="Engineering", office="上海")
    wang["attrs"]["mailNickname"] = ["wxiaoming"]
    mailbox_attrs(wang, "SRV01", home_mdb=False, home_mta=False, guid_=False, defaults=False)
    ob = user(STAFF, "Olivia Brown", "Olivia", "Brown", "obrown", "2018-09-09 09:09:09",
              "2024-01-20 09:00:20", department="Marketing")
    ob["attrs"]["mailNickname"] = ["obrown"]
    mailbox_attrs(ob, "SRV02", home_mdb=False, home_mta=False, guid_=False, defaults=False)

    # Plain users: no Exchange attributes (mailbox-enabled by policy).
    user(STAFF, "Zoë Ørsted", "Zoë", "Ørsted", "zorsted", "2019-10-10 10:10:10",
         "2023-10-10 10:10:10", department="Research")
    user(STAFF, "田中 太郎", "太郎", "田中", "ttanaka", "2020-01-06 00:30:00",
         "2023-01-06 00:30:00", department="Research", office="東京")
    user(STAFF, "Peter O'Brien", "Peter", "O'Brien", "pobrien", "2021-05-05 15:00:00",
         "2023-05-05 15:00:00", department="Finance")
    user(STAFF, "Michael Johnson", "Michael", "Johnson", "mjohnson", "2022-02-22 14:22:22",
         "2023-12-12 12:12:12", department="Engineering",
         description=("Contractor from Northwind Traders on the Exchange 2003 consolidation "
                      "project; desk in building 4, second floor, room 2.17; manager: Maria "
                      "Garcia; contract ends 2025-06-30."))
    # Two new users with the same name and the same whenCreated (claim order tie -> objectGUID).
    user(STAFF, "Lucas Martin", "Lucas", "Martin", "lmartin", "2024-01-15 09:30:12",
         "2024-01-15 09:30:12", department="Sales", logons=False)

    # ---- OU=Disabled --------------------------------------------------------------------------
    rt = user(DISABLED, "Robert Taylor", "Robert", "Taylor", "rtaylor", "2005-05-05 09:00:00",
              "2023-03-31 17:00:00", uac=UF_DISABLED, department="Sales",
              description="Left 2023-03-31; mailbox kept for the manager")
    mailbox_attrs(rt, "SRV01")
    rt["attrs"]["msExchUserAccountControl"] = ["0"]  # stale: account is disabled (0x2)
    stamp(rt, "rtaylor", "rtaylor@corp.example.com",
          secondaries=["Robert.Taylor@corp.example.com"], x400addr=x400("Taylor", "Robert"),
          lists=(GAL, ALL_USERS))
    user(DISABLED, "Linda Hall", "Linda", "Hall", "lhall", "2007-07-01 09:00:00",
         "2022-08-31 17:00:00", uac=UF_DISABLED, department="HR")
    jg = user(DISABLED, "Jürgen Groß", "Jürgen", "Groß", "jgross", "2009-09-01 09:00:00",
              "2024-01-20 09:00:25", uac=UF_DISABLED, department="Logistics")
    jg["attrs"]["mailNickname"] = ["jgross"]
    mailbox_attrs(jg, "SRV02", home_server=False, home_mta=False, guid_=False)

    # ---- OU=Resources (disabled accounts with mailboxes) -----------------------------------
    ra = user(RESOURCES, "Conference Room Alpha", None, None, "room-alpha",
              "2006-01-10 10:00:00", "2021-01-10 10:00:00", uac=UF_DISABLED, company=None,
              description="Room, building 1, 12 seats", logons=False)
    mailbox_attrs(ra, "SRV01")
    ra["attrs"]["msExchUserAccountControl"] = ["2"]
    ra["attrs"]["msExchMasterAccountSid"] = [SELF_SID]
    stamp(ra, "room-alpha", "room-alpha@corp.example.com", x400addr=x400(alias="room-alpha"),
          lists=(GAL, ALL_USERS))
    rb = user(RESOURCES, "Conference Room Beta", None, None, "room-beta",
              "2012-03-12 10:00:00", "2024-01-20 09:00:30", uac=UF_DISABLED, company=None,
              description="Room, building 2, 6 seats", logons=False)
    rb["attrs"]["mailNickname"] = ["room-beta"]
    mailbox_attrs(rb, "SRV02", home_server=False, home_mta=False, guid_=False)
    pj = user(RESOURCES, "Projector 01", None, None, "equip-proj01", "2012-03-12 10:05:00",
              "2024-01-20 09:00:35", uac=UF_DISABLED, company=None,
              description="Equipment: portable projector", logons=False)
    pj["attrs"]["mailNickname"] = ["equip-proj01"]
    mailbox_attrs(pj, "SRV01", home_mdb=False, home_mta=False, guid_=False, defaults=False)

    # ---- OU=Partners (contacts) -------------------------------------------------------------
    hz = contact("Hans Zimmermann", "Hans", "Zimmermann", "2008-04-04 08:00:00",
                 "2022-04-04 08:00:00", company="Partner AG", phone="+49 221 555 0199")
    hz["attrs"].update({"targetAddress": ["SMTP:hans.zimmermann@partner.example"],
                        "mAPIRecipient": ["FALSE"], "internetEncoding": ["0"]})
    stamp(hz, "HansZimmermann", "hans.zimmermann@partner.example",
          secondaries=["Hans.Zimmermann@" + PARTNERS_SMTP],
          x400addr=x400("Zimmermann", "Hans"), lists=(GAL, ALL_CONTACTS),
          policy=PARTNERS_POLICY_GUID)
    isa = contact("Isabel Fernández", "Isabel", "Fernández", "2010-10-10 10:00:00",
                  "2022-10-10 10:00:00", company="Proveedores SA")
    isa["attrs"].update({"targetAddress": ["SMTP:isabel.fernandez@proveedores.example"],
                         "mAPIRecipient": ["FALSE"]})
    stamp(isa, "IsabelFernandez", "isabel.fernandez@proveedores.example",
          secondaries=["Isabel.Fernandez@" + PARTNERS_SMTP],
          x400addr=x400("Fernandez", "Isabel"), lists=(GAL, ALL_CONTACTS),
          policy=PARTNERS_POLICY_GUID)
    contact("Céline Moreau", "Céline", "Moreau", "2023-06-01 09:00:00", "2024-01-20 09:00:40",
            company="Partenaire SARL",
            extra={"mailNickname": ["CelineMoreau"],
                   "targetAddress": ["SMTP:celine.moreau@partenaire.example"]})
    contact("Support Desk (External)", None, None, "2023-06-02 09:00:00",
            "2024-01-20 09:00:45", company="Vendor Inc.",
            extra={"mailNickname": ["VendorSupport"],
                   "targetAddress": ["SMTP:support@vendor.example"]})
    contact("Kenji Sato", "Kenji", "Sato", "2019-03-03 03:03:03", company="Supplier KK",
            extra={"mail": ["kenji.sato@supplier.example"]})  # not a recipient (no mailNickname)
    contact("Priya Patel", "Priya", "Patel", "2021-07-07 07:07:07", company="Auditors LLP",
            phone="+44 20 5550 0123")

    # ---- OU=Wave2 (plain users for the next wave) -------------------------------------------
    global WAVE2_JOHN
    WAVE2_JOHN = user(WAVE2, "John Smith", "John", "Smith", "john.smith", "2024-01-15 09:28:40",
                      "2024-01-15 09:28:40", department="Logistics", logons=False)
    user(WAVE2, "Lucas Martin", "Lucas", "Martin", "lmartin2", "2024-01-15 09:30:12",
         "2024-01-15 09:30:12", department="Logistics", logons=False)
    user(WAVE2, "Sarah Connor", "Sarah", "Connor", "sconnor", "2024-01-15 09:31:05",
         "2024-01-15 09:31:05", department="Logistics", logons=False)
    user(WAVE2, "Søren Kierkegaard", "Søren", "Kierkegaard", "skierkegaard",
         "2024-01-15 09:31:48", "2024-01-15 09:31:48", department="Logistics", logons=False)
    user(WAVE2, "Mei Chen", "Mei", "Chen", "mchen", "2024-01-15 09:32:30", "2024-01-15 09:32:30",
         department="Logistics", logons=False)

    # ---- OU=Groups --------------------------------------------------------------------------
    def by_cn(cn, parent=STAFF):
        return "CN=%s,%s" % (rdn_escape(cn), parent)

    sales = group(GROUPS, "Sales", GT_UNIVERSAL_DIST, created="2005-01-20 10:00:00",
                  changed="2024-01-20 09:01:00", description="Sales team distribution list",
                  members=[JOHN_SMITH["dn"], SMITH_COMMA["dn"], by_cn("Karen Miller"),
                           by_cn("Ulrich Weber"), by_cn("Lucas Martin"),
                           "CN=Hans Zimmermann," + PARTNERS, "CN=Robert Taylor," + DISABLED],
                  extra={"reportToOriginator": ["TRUE"]})
    stamp(sales, "Sales", "Sales@corp.example.com", x400addr=x400(alias="Sales"),
          lists=(GAL, ALL_GROUPS))
    sales["attrs"]["msExchExpansionServerName"] = [SRV["SRV01"]["legacy"]]
    group(GROUPS, "Engineering", GT_UNIVERSAL_SEC, created="2005-01-20 10:05:00",
          changed="2024-01-20 09:01:05", description="Engineering (security + mail)",
          members=[by_cn("Maria Garcia"), by_cn("José Müller Lüdenscheidt"),
                   by_cn("Сергей Чергик"), by_cn("王 小明"), by_cn("Michael Johnson")],
          extra={"mailNickname": ["Engineering"], "displayName": ["Engineering"]})
    group(GROUPS, "All Staff", GT_UNIVERSAL_DIST, created="2005-01-20 10:10:00",
          changed="2024-01-20 09:01:10", description="Everyone in OU=Staff",
          members=[o["dn"] for o in OBJECTS if o["dn"].endswith("," + STAFF)
                   and o["kind"] == "user"],
          extra={"mailNickname": ["AllStaff"], "displayName": ["All Staff"],
                 "reportToOriginator": ["TRUE"]})
    group(GROUPS, "IT Admins", GT_GLOBAL_SEC, created="2005-02-01 08:00:00",
          changed="2023-08-19 18:00:00", description="Helpdesk and server admins",
          members=[by_cn("David Lee"), by_cn("Ahmed Hassan"), "CN=Administrator," + USERS])
    group(GROUPS, "Project Phoenix", GT_GLOBAL_SEC, created="2019-11-11 11:00:00",
          changed="2024-01-20 09:01:15", description="Global group that is mail-enabled",
          members=[by_cn("Zoë Ørsted"), by_cn("田中 太郎"), by_cn("Peter O'Brien")],
          extra={"mailNickname": ["Phoenix"], "displayName": ["Project Phoenix"]})
    rr = group(GROUPS, "Room Resources", GT_UNIVERSAL_DIST, created="2012-03-12 10:10:00",
               changed="2024-01-20 09:01:20", description="All bookable rooms and equipment",
               members=["CN=Conference Room Alpha," + RESOURCES,
                        "CN=Conference Room Beta," + RESOURCES,
                        "CN=Projector 01," + RESOURCES],
               extra={"mailNickname": ["RoomResources"], "displayName": ["Room Resources"]})
    rr["attrs"]["msExchHideFromAddressLists"] = ["TRUE"]
    group(GROUPS, "Partner Contacts", GT_UNIVERSAL_DIST, created="2010-10-10 11:00:00",
          changed="2023-06-02 09:10:00", description="External partner contacts (not mail-enabled)",
          members=["CN=Hans Zimmermann," + PARTNERS, "CN=Isabel Fernández," + PARTNERS,
                   "CN=Céline Moreau," + PARTNERS, "CN=Support Desk (External)," + PARTNERS,
                   "CN=Kenji Sato," + PARTNERS, "CN=Priya Patel," + PARTNERS])
    group(GROUPS, "Wave2 Pilot", GT_UNIVERSAL_DIST, created="2024-01-15 09:35:00",
          description="Wave 2 pilot users",
          members=[WAVE2_JOHN["dn"], "CN=Lucas Martin," + WAVE2, "CN=Sarah Connor," + WAVE2,
                   "CN=Søren Kierkegaard," + WAVE2, "CN=Mei Chen," + WAVE2],
          extra={"mailNickname": ["Wave2Pilot"], "displayName": ["Wave2 Pilot"]})


TRANSLIT = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss",
            "é": "e", "è": "e", "ê": "e", "ë": "e", "ç": "c", "á": "a", "à": "a", "ø": "o",
            "Ø": "O", "å": "a"}


def ascii_part(s, keep_space=False):
    """What an E2007-style transliteration makes of a name (used for existing stamps only)."""
    out = []
    for ch in s or "":
        if ch == " " and keep_space:
            out.append(" ")
        elif ch in TRANSLIT:
            out.append(TRANSLIT[ch])
        elif ch.isascii() and (ch.isalnum() or ch in "'-"):
            out.append(ch)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# System attributes
# --------------------------------------------------------------------------------------------

def finish():
    """Assign RIDs, USNs, memberOf and the system attributes ldifde exports."""
    by_dn = {o["dn"].lower(): o for o in OBJECTS}
    # RIDs from 1103 in creation order for every security principal without a fixed RID.
    principals = [o for o in OBJECTS if o["kind"] in ("user", "group", "computer")]
    next_rid = 1103
    for o in sorted(principals, key=lambda o: (o["created"], o["dn"])):
        if o["rid"] is None:
            o["rid"] = next_rid
            next_rid += 1
    # USNs: created in creation order, changed in change order.
    usn = 4100
    for o in sorted(OBJECTS, key=lambda o: (o["created"], o["dn"].count(","), o["dn"])):
        usn += 7
        o["usn_created"] = usn
    last = max(o["usn_created"] for o in OBJECTS)
    for o in sorted(OBJECTS, key=lambda o: (o["changed"], o["dn"])):
        if o["changed"] > o["created"]:
            last += 13
            o["usn_changed"] = last
        else:
            o["usn_changed"] = o["usn_created"] + 2
    # memberOf back-links
    for o in OBJECTS:
        o["member_of"] = []
    for g in OBJECTS:
        for m in g["members"]:
            t = by_dn.get(m.lower())
            if t is None:
                raise SystemExit("member %r of %r is not defined" % (m, g["dn"]))
            t["member_of"].append(g["dn"])

    for o in OBJECTS:
        a = o["attrs"]
        rdn_attr, rdn_val = first_rdn(o["dn"])
        name = unescape_rdn(rdn_val)
        a["objectClass"] = o["classes"]
        if o["kind"] == "container" and rdn_attr == "CN":
            a["cn"] = [name]
        if o["kind"] in ("user", "contact", "group", "computer"):
            a["cn"] = [o["cn"]]
        a["distinguishedName"] = [o["dn"]]
        a["instanceType"] = ["5" if o["dn"] == DOMAIN else "4"]
        a["whenCreated"] = [gtime(o["created"])]
        a["whenChanged"] = [gtime(o["changed"])]
        a["uSNCreated"] = [str(o["usn_created"])]
        a["uSNChanged"] = [str(o["usn_changed"])]
        a["name"] = [o.get("cn", name)]
        a["objectGUID"] = [guid("object", o["dn"]).bytes_le]
        a["objectCategory"] = [o["category"]]
        if o["member_of"]:
            a["memberOf"] = o["member_of"]
        if o["members"]:
            a["member"] = o["members"]
        if o["created"].year < 2010:
            a["dSCorePropagationData"] = ["20100512081500.0Z", "16010101000000.0Z"]
        else:
            a["dSCorePropagationData"] = ["16010101000000.0Z"]
        if o.get("domain_sid"):
            sub = (21,) + DOMAIN_SID
            a["objectSid"] = [bytes([1, len(sub)]) + (5).to_bytes(6, "big")
                              + b"".join(s.to_bytes(4, "little") for s in sub)]
        if o["kind"] in ("user", "computer"):
            logged = o["logons"]
            a["userAccountControl"] = [str(o["uac"])]
            a["badPwdCount"] = ["0"]
            a["codePage"] = ["0"]
            a["countryCode"] = ["0"]
            a["badPasswordTime"] = [filetime(o["changed"] - dt.timedelta(days=3))
                                    if logged else "0"]
            a["lastLogoff"] = ["0"]
            a["lastLogon"] = [filetime(o["changed"]) if logged else "0"]
            a["pwdLastSet"] = [filetime(o["created"] + dt.timedelta(minutes=1))]
            a["primaryGroupID"] = ["515" if o["kind"] == "computer" else "513"]
            a["objectSid"] = [sid(o["rid"])]
            a["accountExpires"] = [NEVER if o["uac"] != UF_NORMAL or o["kind"] == "computer"
                                   else "0"]
            a["logonCount"] = [str(10 + (o["rid"] * 37) % 900) if logged else "0"]
            a["sAMAccountName"] = [o["sam"]]
            a["sAMAccountType"] = ["805306369" if o["kind"] == "computer" else "805306368"]
            if logged:
                a["lastLogonTimestamp"] = [filetime(o["changed"] - dt.timedelta(hours=5))]
        if o["kind"] == "group":
            a["objectSid"] = [sid(o["rid"])]
            a["sAMAccountName"] = [o["sam"]]
            a["sAMAccountType"] = [str(SAM_TYPE[o["group_type"]])]
            a["groupType"] = [str(o["group_type"])]


def first_rdn(dn):
    """('CN', 'Smith\\, John') for 'CN=Smith\\, John,OU=...'."""
    i = 0
    while i < len(dn) and dn[i] != ",":
        i += 2 if dn[i] == "\\" else 1
    attr, value = dn[:i].split("=", 1)
    return attr, value


def unescape_rdn(v):
    out, i = [], 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v):
            out.append(v[i + 1])
            i += 2
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


# Attribute order: AD returns attributes ordered by their internal ATTRTYP (OID prefix index,
# then last arc), and ldifde/csvde keep that order. These keys approximate it.
ORDER = {}
for prefix, names in (
    (0, "objectClass:0 cn:3 sn:4 c:6 l:7 st:8 street:9 ou:11 title:12 description:13 "
        "postalCode:17 physicalDeliveryOfficeName:19 telephoneNumber:20 "
        "facsimileTelephoneNumber:23 member:31 givenName:42 initials:43 distinguishedName:49"),
    (2, "instanceType:1 whenCreated:2 whenChanged:3 displayName:13 uSNCreated:19 info:81 "
        "memberOf:102 uSNChanged:120 department:141 company:146 showInAdvancedViewOnly:169 "
        "homeMTA:171 reportToOriginator:206 proxyAddresses:210 homeMDB:244 targetAddress:352 "
        "mAPIRecipient:370 mailNickname:447 mDBUseDefaults:471"),
    (9, "name:1 objectGUID:2 userAccountControl:8 badPwdCount:12 codePage:16 countryCode:25 "
        "creationTime:26 forceLogoff:39 badPasswordTime:49 lastLogoff:51 lastLogon:52 "
        "lockoutDuration:60 lockOutObservationWindow:61 lockoutThreshold:73 maxPwdAge:74 "
        "minPwdAge:78 minPwdLength:79 nextRid:88 pwdProperties:93 pwdHistoryLength:95 "
        "pwdLastSet:96 primaryGroupID:98 objectSid:146 adminCount:150 accountExpires:159 "
        "modifiedCount:168 logonCount:169 sAMAccountName:221 sAMAccountType:302 "
        "operatingSystem:363 operatingSystemVersion:364 operatingSystemServicePack:365 "
        "systemFlags:375 wellKnownObjects:618 dNSHostName:619 showInAddressBook:644 "
        "legacyExchangeDN:655 userPrincipalName:656 groupType:750 servicePrincipalName:771 "
        "objectCategory:782 isCriticalSystemObject:868 gPLink:891 dSCorePropagationData:1357 "
        "ms-DS-MachineAccountQuota:1411 msDS-Behavior-Version:1459 lastLogonTimestamp:1696"),
    (30, "textEncodedORAddress:2 mail:3 dc:25"),
    (40, "msExchHomeServerName:47 msExchHideFromAddressLists:73 msExchMasterAccountSid:81 "
         "msExchUserAccountControl:101 msExchALObjectVersion:150 internetEncoding:200 "
         "msExchExpansionServerName:300 msExchMailboxGuid:11058 msExchPoliciesExcluded:50005 "
         "msExchPoliciesIncluded:50006"),
):
    for item in names.split():
        n, arc = item.rsplit(":", 1)
        ORDER[n] = (prefix, int(arc))


def ordered(attrs):
    for n in attrs:
        if n not in ORDER:
            raise SystemExit("no ATTRTYP order for %s" % n)
    return sorted(attrs.items(), key=lambda kv: ORDER[kv[0]])


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------

WIDTH = 80


def needs_base64(v: str) -> bool:
    if not v.isascii():
        return True
    if v[:1] in (" ", ":", "<") or v.endswith(" "):
        return True
    return any(c in v for c in "\r\n\0")


def ldif_line(attr, value):
    if isinstance(value, bytes):
        return "%s:: %s" % (attr, base64.b64encode(value).decode())
    if needs_base64(value):
        return "%s:: %s" % (attr, base64.b64encode(value.encode("utf-8")).decode())
    return "%s: %s" % (attr, value)


def fold(line):
    """ldifde folding: if the line is too long, break right after `attr: ` / `attr:: `, then
    continue the value on lines of WIDTH characters, each starting with one space."""
    if len(line) <= WIDTH:
        return [line]
    cut = line.index(": ") + 2
    out = [line[:cut]]
    rest = line[cut:]
    while rest:
        out.append(" " + rest[: WIDTH - 1])
        rest = rest[WIDTH - 1:]
    return out


def ldif_record(dn, attrs, max_values=None):
    lines = fold(ldif_line("dn", dn)) + ["changetype: add"]
    overflow = []
    for attr, values in attrs:
        if max_values is not None and len(values) > max_values:
            overflow.append((attr, values[max_values:]))
            values = values[:max_values]
        for v in values:
            lines += fold(ldif_line(attr, v))
    out = "\r\n".join(lines) + "\r\n\r\n"
    if overflow:
        # ldifde's follow-up record: one `add:` block per remaining value.
        lines = fold(ldif_line("dn", dn)) + ["changetype: modify"]
        for attr, values in overflow:
            for v in values:
                lines.append("add: " + attr)
                lines += fold(ldif_line(attr, v))
                lines.append("-")
        out += "\r\n".join(lines) + "\r\n\r\n"
    return out


def write_ldif(path, objects, max_values=1500):
    with open(path, "w", encoding="ascii", newline="") as f:
        f.write("\r\n")
        for o in objects:
            f.write(ldif_record(o["dn"], ordered(o["attrs"]), max_values))


def csv_value(v):
    if isinstance(v, bytes):
        return "X'" + v.hex() + "'"
    if not v.isascii():
        return "X'" + v.encode("utf-8").hex() + "'"
    return v


def csv_field(s):
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def write_csv(path, objects):
    cols = set()
    for o in objects:
        cols.update(o["attrs"])
    cols = sorted(cols, key=lambda n: ORDER[n])
    rows = [["DN"] + cols]
    for o in objects:
        row = [csv_value(o["dn"])]
        for c in cols:
            vals = o["attrs"].get(c)
            if not vals:
                row.append("")
            elif c == "objectClass":
                # csvde writes only the most specific class.
                row.append(vals[-1])
            else:
                row.append(";".join(csv_value(v) for v in vals))
        rows.append(row)
    with open(path, "w", encoding="ascii", newline="") as f:
        for row in rows:
            f.write(",".join(csv_field(x) for x in row) + "\r\n")


def large_group():
    """A mail-enabled distribution group with 1510 members (members are not in the file)."""
    global OBJECTS
    saved = OBJECTS
    OBJECTS = []
    g = group(GROUPS, "Wave2 Everyone", GT_UNIVERSAL_DIST, created="2024-01-16 08:00:00",
              changed="2024-01-16 08:45:00", description="Every Wave2 account (bulk import)",
              members=["CN=Wave2 User %04d,%s" % (i, WAVE2) for i in range(1, 1511)],
              extra={"mailNickname": ["Wave2Everyone"], "displayName": ["Wave2 Everyone"]})
    g["rid"] = 4001
    g["usn_created"], g["usn_changed"] = 90001, 97013
    a = g["attrs"]
    a.update({
        "objectClass": g["classes"], "cn": [g["cn"]], "member": g["members"],
        "distinguishedName": [g["dn"]], "instanceType": ["4"],
        "whenCreated": [gtime(g["created"])], "whenChanged": [gtime(g["changed"])],
        "uSNCreated": ["90001"], "uSNChanged": ["97013"], "name": [g["cn"]],
        "objectGUID": [guid("object", g["dn"]).bytes_le], "objectSid": [sid(g["rid"])],
        "sAMAccountName": [g["sam"]], "sAMAccountType": [str(SAM_TYPE[g["group_type"]])],
        "groupType": [str(g["group_type"])], "objectCategory": [CAT_GROUP],
        "dSCorePropagationData": ["16010101000000.0Z"],
    })
    OBJECTS = saved
    return g


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    define()
    finish()
    write_ldif(os.path.join(out_dir, "corp.ldf"), OBJECTS)
    write_csv(os.path.join(out_dir, "corp.csv"), OBJECTS)
    write_ldif(os.path.join(out_dir, "corp-large-group.ldf"), [large_group()])
    kinds = {}
    for o in OBJECTS:
        kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
    print("%d objects: %s" % (len(OBJECTS), ", ".join("%s %d" % kv for kv in sorted(kinds.items()))),
          file=sys.stderr)
    print("Default Policy objectGUID used in msExchPoliciesIncluded: {%s}"
          % str(DEFAULT_POLICY_GUID).upper(), file=sys.stderr)


if __name__ == "__main__":
    main()
