#!/usr/bin/env python3
"""Generate an OpenLDAP (slapd.conf) schema for Active Directory + Exchange 2003 / OCS objects.

Inputs (all read, nothing fetched):
  * Microsoft's AD schema shipped in the samba package (/usr/share/samba/setup/ad-schema/):
    ldifde-style .ldf files (CRLF, cp1252, long lines, LDIF folding, base64 values) or the
    MS-AD_Schema_*.txt listings (UTF-8, comma-separated multi-values). Both parse.
  * The Exchange/OCS attributeSchema records of tests/realdir/samba/01-attributes.ldif, so the Samba
    and slapd test directories define the same Exchange attributes with the same OIDs and syntaxes.
  * OpenLDAP's core, cosine and inetorgperson schemas: their attributes are reused, never redefined.

Outputs, written to OUT_DIR:
  * core-ad.schema      copy of core.schema, person's `sn` moved from MUST to MAY (AD contacts and
                        groups have no sn).
  * ad-exchange.schema  attribute types for every AD and Exchange/OCS attribute that OpenLDAP does
                        not already define, the structural classes user, contact, group, container,
                        computer, msExchDynamicDistributionList, publicFolder (all AD attributes of
                        the class, its superclasses and auxiliary classes as MAY), and a DIT content
                        rule that lets core's organizationalUnit carry AD's OU attributes.
Include order in slapd.conf: core-ad.schema, cosine.schema, inetorgperson.schema, ad-exchange.schema.

python3 standard library only.
"""

import argparse
import base64
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
AD_DIR = "/usr/share/samba/setup/ad-schema"
DEFAULT_ATTRS = os.path.join(AD_DIR, "AD_DS_Attributes__Windows_Server_2012_R2.ldf")
DEFAULT_CLASSES = os.path.join(AD_DIR, "AD_DS_Classes__Windows_Server_2012_R2.ldf")
DEFAULT_EXCHANGE = os.path.join(REPO, "tests", "realdir", "samba", "01-attributes.ldif")

# OpenLDAP 2.5 built-in attribute types (schema_prep.c and the back-ends), besides those of
# core.schema. AD defines some of the same OIDs under other names (middleName = ref's OID) or the
# same names (createTimeStamp): those AD attributes are skipped.
OPENLDAP_BUILTIN = {
    "2.5.4.0": ["objectClass"],
    "2.5.21.9": ["structuralObjectClass"],
    "2.5.18.1": ["createTimestamp"],
    "2.5.18.2": ["modifyTimestamp"],
    "2.5.18.3": ["creatorsName"],
    "2.5.18.4": ["modifiersName"],
    "2.5.18.9": ["hasSubordinates"],
    "2.5.18.10": ["subschemaSubentry"],
    "1.3.6.1.1.20": ["entryDN"],
    "1.3.6.1.1.16.4": ["entryUUID"],
    "1.3.6.1.4.1.4203.666.1.7": ["entryCSN"],
    "1.3.6.1.4.1.4203.666.1.25": ["contextCSN"],
    "1.3.6.1.4.1.1466.101.120.6": ["altServer"],
    "1.3.6.1.4.1.1466.101.120.5": ["namingContexts"],
    "1.3.6.1.4.1.1466.101.120.13": ["supportedControl"],
    "1.3.6.1.4.1.1466.101.120.7": ["supportedExtension"],
    "1.3.6.1.4.1.1466.101.120.15": ["supportedLDAPVersion"],
    "1.3.6.1.4.1.1466.101.120.14": ["supportedSASLMechanisms"],
    "1.3.6.1.4.1.4203.1.3.5": ["supportedFeatures"],
    "1.3.6.1.1.4": ["vendorName"],
    "1.3.6.1.1.5": ["vendorVersion"],
    "2.5.21.1": ["dITStructureRules"],
    "2.5.21.2": ["dITContentRules"],
    "2.5.21.4": ["matchingRules"],
    "2.5.21.5": ["attributeTypes"],
    "2.5.21.6": ["objectClasses"],
    "2.5.21.7": ["nameForms"],
    "2.5.21.8": ["matchingRuleUse"],
    "1.3.6.1.4.1.1466.101.120.16": ["ldapSyntaxes"],
    "2.16.840.1.113730.3.1.34": ["ref"],
    "1.3.6.1.4.1.1466.101.119.3": ["entryTtl"],
    "1.3.6.1.4.1.1466.101.119.4": ["dynamicSubtrees"],
    "1.3.6.1.1.1.1.0": ["uidNumber"],
    "1.3.6.1.1.1.1.1": ["gidNumber"],
    "1.3.6.1.4.1.4203.666.1.60": ["pKCS8PrivateKey"],
    "1.3.6.1.4.1.42.2.27.8.1.29": ["pwdLastSuccess"],
    "2.5.4.1": ["aliasedObjectName", "aliasedEntryName"],
    "2.5.18.5": ["administrativeRole"],
    "2.5.18.6": ["subtreeSpecification"],
}
# Operational attributes: never listed in a class's MAY.
OPERATIONAL = {n.lower() for names in OPENLDAP_BUILTIN.values() for n in names}
# User attributes slapd also defines itself (commented out in Debian's core.schema): reused.
CORE_BUILTIN = {
    "2.5.4.3": ["cn", "commonName"],
    "2.5.4.6": ["c", "countryName"],
    "2.5.4.13": ["description"],
    "2.5.4.34": ["seeAlso"],
    "2.5.4.35": ["userPassword"],
    "2.5.4.41": ["name"],
    "2.5.4.49": ["distinguishedName"],
    "1.3.6.1.4.1.250.1.57": ["labeledURI"],
    "0.9.2342.19200300.100.1.1": ["uid", "userid"],
}

S_DN = "1.3.6.1.4.1.1466.115.121.1.12"
S_DIRSTR = "1.3.6.1.4.1.1466.115.121.1.15"
S_OCTET = "1.3.6.1.4.1.1466.115.121.1.40"
S_INT = "1.3.6.1.4.1.1466.115.121.1.27"
S_BOOL = "1.3.6.1.4.1.1466.115.121.1.7"
S_TIME = "1.3.6.1.4.1.1466.115.121.1.24"
S_NUMSTR = "1.3.6.1.4.1.1466.115.121.1.36"

CASE_IGNORE = ("caseIgnoreMatch", "caseIgnoreOrderingMatch", "caseIgnoreSubstringsMatch", S_DIRSTR)
CASE_EXACT = ("caseExactMatch", "caseExactOrderingMatch", "caseExactSubstringsMatch", S_DIRSTR)
OCTETS = ("octetStringMatch", "octetStringOrderingMatch", None, S_OCTET)
INTEGER = ("integerMatch", "integerOrderingMatch", None, S_INT)


def map_syntax(syntax, om_syntax):
    """(EQUALITY, ORDERING, SUBSTR, SYNTAX) for an AD attributeSyntax / oMSyntax pair."""
    if syntax == "2.5.5.1":
        return ("distinguishedNameMatch", None, None, S_DN)
    if syntax in ("2.5.5.2", "2.5.5.4", "2.5.5.5", "2.5.5.12"):
        return CASE_IGNORE
    if syntax == "2.5.5.3":
        return CASE_EXACT
    if syntax == "2.5.5.6":
        return ("numericStringMatch", "numericStringOrderingMatch", "numericStringSubstringsMatch", S_NUMSTR)
    if syntax == "2.5.5.8":
        return ("booleanMatch", None, None, S_BOOL)
    if syntax in ("2.5.5.9", "2.5.5.16"):
        return INTEGER
    if syntax in ("2.5.5.10", "2.5.5.15", "2.5.5.17"):
        return OCTETS
    if syntax == "2.5.5.11":
        if om_syntax == "23":
            # UTC time (YYMMDDHHMMSSZ): slapd 2.5 has no UTC Time syntax; keep the text.
            return CASE_IGNORE
        return ("generalizedTimeMatch", "generalizedTimeOrderingMatch", None, S_TIME)
    # 2.5.5.7 DN-Binary / OR-Name, 2.5.5.13 Presentation-Address, 2.5.5.14 DN-String / Access-Point:
    # structured strings; compare as text.
    return CASE_IGNORE


LIST_KEYS = {
    "maycontain", "systemmaycontain", "mustcontain", "systemmustcontain",
    "auxiliaryclass", "systemauxiliaryclass", "posssuperiors", "systemposssuperiors", "objectclass",
}


def read_records(path):
    """Parse an ldifde .ldf, an MS-AD_Schema .txt or an LDIF file into a list of dicts
    (lower-cased keys, list of str values)."""
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    records, cur, lines = [], None, []
    # Unfold LDIF continuation lines (a line starting with one space continues the previous one).
    for line in text.split("\n"):
        if line.startswith(" ") and lines and lines[-1] is not None and not lines[-1].startswith("#"):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    for line in lines + [""]:
        if line.strip() == "":
            if cur:
                records.append(cur)
            cur = None
            continue
        if line.startswith("#") or line.startswith("-"):
            continue
        m = re.match(r"^([A-Za-z0-9;-]+)(::?)\s*(.*)$", line)
        if not m:
            continue
        key, sep, val = m.group(1).lower(), m.group(2), m.group(3).strip()
        if sep == "::":
            try:
                val = base64.b64decode(val).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                val = "<binary>"
        if cur is None:
            cur = {}
        vals = [v.strip() for v in val.split(",")] if key in LIST_KEYS else [val]
        cur.setdefault(key, []).extend(v for v in vals if v)
    return records


def one(rec, key, default=None):
    v = rec.get(key)
    return v[0] if v else default


def parse_openldap_schema(path):
    """Attribute (oid -> names) and object class names of an OpenLDAP .schema file."""
    text = open(path, encoding="utf-8", errors="replace").read()
    attrs, classes = {}, set()
    for kind, body in re.findall(r"^(attributetype|objectclass)\s+\((.*?)\n(?=\S|\Z)", text,
                                 re.I | re.M | re.S):
        body = " ".join(body.split())
        oid = body.split()[0]
        nm = re.search(r"NAME\s+(\([^)]*\)|'[^']*')", body)
        names = re.findall(r"'([^']+)'", nm.group(1)) if nm else []
        if kind.lower() == "attributetype":
            attrs[oid] = names
        else:
            classes.update(n.lower() for n in names)
    return attrs, classes


def core_without_sn(src):
    """core.schema with person's MUST ( sn $ cn ) turned into MUST cn, sn moved to MAY."""
    text = open(src, encoding="utf-8").read()
    pat = re.compile(r"(objectclass \( 2\.5\.6\.6 NAME 'person'.*?)MUST \( sn \$ cn \)\s*MAY \( ",
                     re.S)
    new, n = pat.subn(r"\1MUST cn\n\tMAY ( sn $ ", text)
    if n != 1:
        sys.exit("slapd-schema.py: could not find person's MUST ( sn $ cn ) in %s" % src)
    return ("# Generated by scripts/realdir/slapd-schema.py from %s:\n"
            "# identical except that person's sn is MAY (AD contacts and groups have no sn).\n\n"
            % src) + new


def fold(words, indent="\t"):
    """Fold a $-separated list one item per line (slapd.conf lines must stay under ~2 KB)."""
    return ("\n" + indent + "$ ").join(words)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--attributes", default=DEFAULT_ATTRS, help="AD attribute LDF/TXT")
    ap.add_argument("--classes", default=DEFAULT_CLASSES, help="AD class LDF/TXT")
    ap.add_argument("--exchange", default=DEFAULT_EXCHANGE,
                    help="LDIF of Exchange/OCS attributeSchema records (Samba extension)")
    ap.add_argument("--ldap-schema-dir", default="/etc/ldap/schema")
    args = ap.parse_args()

    core_src = os.path.join(args.ldap_schema_dir, "core.schema")
    known = {}  # oid -> names, everything OpenLDAP already defines
    known_classes = set()
    for oid, names in list(OPENLDAP_BUILTIN.items()) + list(CORE_BUILTIN.items()):
        known[oid] = names
    for f in ("core.schema", "cosine.schema", "inetorgperson.schema"):
        a, c = parse_openldap_schema(os.path.join(args.ldap_schema_dir, f))
        known.update(a)
        known_classes |= c
    known_by_name = {n.lower(): oid for oid, names in known.items() for n in names}

    ad_attrs = [r for r in read_records(args.attributes) if "attributeid" in r]
    exch_attrs = [r for r in read_records(args.exchange) if "attributeid" in r]
    ad_classes = {one(r, "ldapdisplayname").lower(): r
                  for r in read_records(args.classes) if "governsid" in r}
    if not ad_attrs or not ad_classes or not exch_attrs:
        sys.exit("slapd-schema.py: no attributes/classes parsed (check the input paths)")

    defined = []         # (name, oid, rec) written to ad-exchange.schema
    usable = {}          # lower name -> name usable in MAY (ours or OpenLDAP's)
    skipped = []
    seen_oid = {}
    for rec in ad_attrs + exch_attrs:
        name = one(rec, "ldapdisplayname")
        oid = one(rec, "attributeid")
        if not name or not oid:
            continue
        if oid in known:
            # Same OID as an OpenLDAP attribute: reuse it when it is the same name, else skip.
            if name.lower() in (n.lower() for n in known[oid]):
                usable[name.lower()] = name
            else:
                skipped.append("%s (%s): OID is OpenLDAP's %s" % (name, oid, known[oid][0]))
            continue
        if name.lower() in known_by_name:
            # Same name, other OID (AD's displayName, co, info ...): OpenLDAP's attribute of that
            # name stands in for it, so exports that carry it still load.
            skipped.append("%s (%s): name is OpenLDAP's %s, used instead"
                           % (name, oid, known_by_name[name.lower()]))
            usable[name.lower()] = name
            continue
        if oid in seen_oid or name.lower() in usable:
            skipped.append("%s (%s): defined twice in the inputs" % (name, oid))
            continue
        seen_oid[oid] = name
        usable[name.lower()] = name
        defined.append((name, oid, rec))
    exchange_names = [one(r, "ldapdisplayname") for r in exch_attrs]

    def class_attrs(cname, seen=None):
        """All attributes of an AD class: own, superclasses', auxiliary classes'."""
        seen = seen if seen is not None else set()
        key = cname.lower()
        if key in seen or key not in ad_classes:
            return []
        seen.add(key)
        rec = ad_classes[key]
        out = []
        for k in ("systemmustcontain", "mustcontain", "systemmaycontain", "maycontain"):
            out += rec.get(k, [])
        sup = one(rec, "subclassof")
        if sup and sup.lower() != key:
            out += class_attrs(sup, seen)
        for k in ("systemauxiliaryclass", "auxiliaryclass"):
            for aux in rec.get(k, []):
                out += class_attrs(aux, seen)
        return out

    def may_list(names):
        res, seen = [], set()
        for n in names:
            k = n.lower()
            if k in seen or k == "objectclass" or k in OPERATIONAL or k not in usable:
                continue
            seen.add(k)
            res.append(usable[k])
        return res

    out = []
    out.append("# Generated by scripts/realdir/slapd-schema.py; do not edit.\n"
               "# AD attributes from %s\n# AD classes from %s\n# Exchange/OCS attributes from %s\n"
               "# Include after core-ad.schema, cosine.schema and inetorgperson.schema.\n"
               % (args.attributes, args.classes, os.path.relpath(args.exchange, REPO)))
    if skipped:
        out.append("# AD attributes left out because OpenLDAP's schema already has the OID or name:\n"
                   + "".join("#   %s\n" % s for s in skipped))
    for name, oid, rec in defined:
        syntax = one(rec, "attributesyntax", "2.5.5.12")
        om = one(rec, "omsyntax", "")
        eq, order, sub, syn = map_syntax(syntax, om)
        parts = ["attributetype ( %s NAME '%s'" % (oid, name)]
        parts.append("\tDESC 'AD %s %s'" % (one(rec, "cn", name).replace("'", ""), syntax))
        parts.append("\tEQUALITY %s" % eq)
        if order:
            parts.append("\tORDERING %s" % order)
        if sub:
            parts.append("\tSUBSTR %s" % sub)
        parts.append("\tSYNTAX %s" % syn)
        if one(rec, "issinglevalued", "FALSE").upper() == "TRUE":
            parts.append("\tSINGLE-VALUE")
        out.append("\n".join(parts) + " )\n")

    # Structural classes. OpenLDAP's core provides top, person, organizationalPerson,
    # organizationalUnit; ours flatten AD's inherited and auxiliary attributes into MAY.
    recipient = set(n.lower() for n in ("user", "contact", "group", "computer",
                                         "msExchDynamicDistributionList", "publicFolder"))
    exchange_classes = {
        # Not in the AD schema: Exchange classes (governsID from Exchange's schema LDFs).
        "msexchdynamicdistributionlist": ("1.2.840.113556.1.5.7000.62.12006",
                                          "msExchDynamicDistributionList", "top",
                                          ["mail", "managedBy", "reportToOwner", "reportToOriginator",
                                           "oOFReplyToOriginator", "hideDLMembership"],
                                          ["mailRecipient"]),
        "publicfolder": ("1.2.840.113556.1.3.15", "publicFolder", "top",
                         ["title", "co", "st", "physicalDeliveryOfficeName", "l", "department",
                          "company"], ["mailRecipient"]),
    }
    wanted = [("user", "organizationalPerson"), ("contact", "organizationalPerson"),
              ("group", "top"), ("container", "top"), ("computer", "user"),
              ("msExchDynamicDistributionList", "top"), ("publicFolder", "top")]
    for cname, sup in wanted:
        key = cname.lower()
        if key in exchange_classes:
            oid, lname, _, own, auxes = exchange_classes[key]
            names = list(own) + class_attrs("top")
            for aux in auxes:
                names += class_attrs(aux)
        else:
            rec = ad_classes[key]
            oid, lname = one(rec, "governsid"), one(rec, "ldapdisplayname")
            names = class_attrs(cname)
        if key in recipient:
            names += exchange_names
        may = may_list(names)
        out.append("objectclass ( %s NAME '%s'\n\tDESC 'AD %s'\n\tSUP %s STRUCTURAL\n\tMAY ( %s ) )\n"
                   % (oid, lname, lname, sup, fold(may)))
    # organizationalUnit is core's (2.5.6.5): a DIT content rule adds AD's OU attributes to it
    # without an auxiliary class in the entries' objectClass.
    ou_may = [n for n in may_list(class_attrs("organizationalUnit")) if n.lower() != "ou"]
    out.append("ditcontentrule ( 2.5.6.5 NAME 'adOrganizationalUnit'\n"
               "\tDESC 'AD attributes on organizationalUnit'\n\tMAY ( %s ) )\n" % fold(ou_may))

    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "core-ad.schema"), "w", encoding="utf-8") as f:
        f.write(core_without_sn(core_src))
    with open(os.path.join(args.out_dir, "ad-exchange.schema"), "w", encoding="utf-8") as f:
        f.write("\n".join(out))
    print("slapd-schema.py: %d attribute types (%d Exchange/OCS), %d skipped, 7 classes -> %s"
          % (len(defined), len(exch_attrs), len(skipped), args.out_dir))


if __name__ == "__main__":
    main()
