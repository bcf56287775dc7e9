//! Seeded generator of synthetic ldifde exports for benchmarks.
//!
//! [`generate`] writes `count` objects of the `corp.example.com` test directory (the one in
//! `samples/corp.ldf`) in the byte-exact style of `ldifde -f` in its default ANSI mode: CRLF line
//! endings, a leading empty line, no `version:` line, `changetype: add` on every record,
//! non-ASCII and binary values as `::` base64, lines longer than 80 columns broken right after
//! `attr: ` and continued with one leading space, and attributes with more than 1500 values
//! continued in a follow-up `changetype: modify` record (one `add: member` block per value).
//!
//! The output depends only on [`GenOptions`]; the same seed and count give the same bytes.
//! The mix (of `count`): about 80% users (30% stamped mailboxes, 20% mailboxes with only
//! `homeMDB` + `mailNickname`, 40% plain users, 10% other cases: mail users, server-only
//! mailboxes, hidden, opted out, broken), 10% contacts (half mail-enabled), 8% groups, 2%
//! room and equipment mailboxes, the two Exchange server groups, and a few groups with more
//! than 1500 members at the end (when enough users exist). Names come from built-in lists
//! with accented, Cyrillic and CJK entries; some users deliberately share a given name and
//! surname with an earlier user so that generated addresses collide. No external crates.
//!
//! Included from the `gen-export` example and from criterion benches with
//! `#[path = "generator.rs"] mod generator;`.

#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hasher;
use std::io::{self, Write};

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct GenOptions {
    /// PRNG seed; the output is a pure function of `seed` and `count`.
    pub seed: u64,
    /// Number of objects (add records) to write.
    pub count: usize,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            seed: 1,
            count: 1000,
        }
    }
}

/// What was generated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenStats {
    /// Objects written (add records; follow-up modify records are not counted).
    pub objects: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Writes a seeded, deterministic ldifde-style export of `opts.count` objects to `out`.
pub fn generate<W: Write>(out: &mut W, opts: &GenOptions) -> io::Result<GenStats> {
    let mut g = Gen::new(opts);
    out.write_all(b"\r\n")?;
    g.stats.bytes += 2;
    g.run(out)?;
    Ok(g.stats)
}

// ------------------------------------------------------------------------------------------
// The directory (same names as samples/corp.ldf)
// ------------------------------------------------------------------------------------------

macro_rules! domain {
    () => {
        "DC=corp,DC=example,DC=com"
    };
}
macro_rules! org {
    () => {
        concat!(
            "CN=Corp,CN=Microsoft Exchange,CN=Services,CN=Configuration,",
            domain!()
        )
    };
}
macro_rules! servers {
    () => {
        concat!(
            "CN=Servers,CN=First Administrative Group,CN=Administrative Groups,",
            org!()
        )
    };
}
macro_rules! al {
    () => {
        concat!("CN=Address Lists Container,", org!())
    };
}

const DOMAIN: &str = domain!();
const SMTP_DOMAIN: &str = "corp.example.com";
const AG_LEGACY: &str = "/o=Corp/ou=First Administrative Group";
const X400_SITE: &str = "c=US;a= ;p=Corp;o=Exchange;";
const POLICIES_INCLUDED: &str =
    "{E491A201-A02A-4EA2-BC41-1B45A6CD3A4F},{26491CFC-9E50-4857-861B-0CB8DF22B5D7}";
/// Stamped contacts carry the `Partners` recipient policy of samples/policy.toml.
const PARTNERS_POLICIES_INCLUDED: &str =
    "{0F5B7D3E-2C1A-4B8E-9F6D-1A2B3C4D5E6F},{26491CFC-9E50-4857-861B-0CB8DF22B5D7}";
const PARTNERS_SMTP: &str = "partners.corp.example.com";
const EAP_GUID: &str = "{26491CFC-9E50-4857-861B-0CB8DF22B5D7}";
const DOMAIN_SID: [u32; 3] = [1_004_336_348, 1_177_238_915, 682_003_330];
const SELF_SID: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 5, 10, 0, 0, 0];

const CAT_PERSON: &str = concat!("CN=Person,CN=Schema,CN=Configuration,", domain!());
const CAT_GROUP: &str = concat!("CN=Group,CN=Schema,CN=Configuration,", domain!());
const CAT_COMPUTER: &str = concat!("CN=Computer,CN=Schema,CN=Configuration,", domain!());
const CAT_OU: &str = concat!(
    "CN=Organizational-Unit,CN=Schema,CN=Configuration,",
    domain!()
);
const CAT_CONTAINER: &str = concat!("CN=Container,CN=Schema,CN=Configuration,", domain!());

const GAL: &str = concat!(
    "CN=Default Global Address List,CN=All Global Address Lists,",
    al!()
);
const ALL_USERS: &str = concat!("CN=All Users,CN=All Address Lists,", al!());
const ALL_CONTACTS: &str = concat!("CN=All Contacts,CN=All Address Lists,", al!());
const ALL_GROUPS: &str = concat!("CN=All Groups,CN=All Address Lists,", al!());

struct Server {
    name: &'static str,
    store: &'static str,
    mta: &'static str,
    legacy: &'static str,
}

const SERVERS: [Server; 2] = [
    Server {
        name: "SRV01",
        store: concat!(
            "CN=Mailbox Store (SRV01),CN=First Storage Group,CN=InformationStore,CN=SRV01,",
            servers!()
        ),
        mta: concat!("CN=Microsoft MTA,CN=SRV01,", servers!()),
        legacy: "/o=Corp/ou=First Administrative Group/cn=Configuration/cn=Servers/cn=SRV01",
    },
    Server {
        name: "SRV02",
        store: concat!(
            "CN=Mailbox Store (SRV02),CN=First Storage Group,CN=InformationStore,CN=SRV02,",
            servers!()
        ),
        mta: concat!("CN=Microsoft MTA,CN=SRV02,", servers!()),
        legacy: "/o=Corp/ou=First Administrative Group/cn=Configuration/cn=Servers/cn=SRV02",
    },
];

const OU_STAFF: usize = 0;
const OU_RESOURCES: usize = 1;
const OU_PARTNERS: usize = 2;
const OU_GROUPS: usize = 3;
const OU_DISABLED: usize = 4;
const OU_WAVE2: usize = 5;
const OUS: [(&str, &str); 6] = [
    ("Staff", concat!("OU=Staff,", domain!())),
    ("Resources", concat!("OU=Resources,", domain!())),
    ("Partners", concat!("OU=Partners,", domain!())),
    ("Groups", concat!("OU=Groups,", domain!())),
    ("Disabled", concat!("OU=Disabled,", domain!())),
    ("Wave2", concat!("OU=Wave2,", domain!())),
];
const USERS: &str = concat!("CN=Users,", domain!());
const COMPUTERS: &str = concat!("CN=Computers,", domain!());

// ------------------------------------------------------------------------------------------
// Names: (display form, ASCII form used for sAMAccountName)
// ------------------------------------------------------------------------------------------

type Name = (&'static str, &'static str);

struct Culture {
    weight: u32,
    given: &'static [Name],
    surnames: &'static [Name],
    /// Surname first in cn/displayName (CJK).
    family_first: bool,
}

macro_rules! ascii_names {
    ($($n:literal),* $(,)?) => { &[$(($n, $n)),*] };
}

#[rustfmt::skip]
const CULTURES: [Culture; 10] = [
    Culture {
        weight: 75,
        given: ascii_names!(
            "John", "Mary", "James", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
            "William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
            "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Mark",
            "Emily", "Paul", "Sandra", "Steven", "Ashley", "Andrew", "Olivia", "Peter", "Grace"
        ),
        surnames: ascii_names!(
            "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
            "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White",
            "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
            "Scott", "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "O'Brien",
            "O'Connor", "Van der Berg", "Campbell", "Parker"
        ),
        family_first: false,
    },
    Culture {
        weight: 8,
        given: &[
            ("Hans", "Hans"), ("Jürgen", "Juergen"), ("Ulrike", "Ulrike"), ("Klaus", "Klaus"),
            ("Petra", "Petra"), ("Jörg", "Joerg"), ("Anna", "Anna"), ("Lukas", "Lukas"),
            ("Sören", "Soeren"), ("Käthe", "Kaethe")
        ],
        surnames: &[
            ("Müller", "Mueller"), ("Schmidt", "Schmidt"), ("Schneider", "Schneider"),
            ("Fischer", "Fischer"), ("Weber", "Weber"), ("Meyer", "Meyer"), ("Wagner", "Wagner"),
            ("Becker", "Becker"), ("Groß", "Gross"), ("Müller Lüdenscheidt", "Mueller"),
            ("Köhler", "Koehler"), ("Schäfer", "Schaefer")
        ],
        family_first: false,
    },
    Culture {
        weight: 4,
        given: &[
            ("François", "Francois"), ("Chloé", "Chloe"), ("Pierre", "Pierre"),
            ("Marie", "Marie"), ("Hélène", "Helene"), ("Jérôme", "Jerome"), ("Zoë", "Zoe"),
            ("Anaïs", "Anais"), ("Jean", "Jean")
        ],
        surnames: &[
            ("Lefèvre", "Lefevre"), ("Dubois", "Dubois"), ("Moreau", "Moreau"),
            ("Laurent", "Laurent"), ("Girard", "Girard"), ("Bérénger", "Berenger"),
            ("Lemaître", "Lemaitre")
        ],
        family_first: false,
    },
    Culture {
        weight: 3,
        given: &[
            ("José", "Jose"), ("María", "Maria"), ("Carlos", "Carlos"), ("Lucía", "Lucia"),
            ("Jesús", "Jesus"), ("Ana", "Ana")
        ],
        surnames: &[
            ("García", "Garcia"), ("Fernández", "Fernandez"), ("Gómez", "Gomez"),
            ("Sánchez", "Sanchez"), ("Núñez", "Nunez"), ("Rodríguez", "Rodriguez")
        ],
        family_first: false,
    },
    Culture {
        weight: 2,
        given: &[
            ("Søren", "Soren"), ("Björn", "Bjorn"), ("Åsa", "Asa"), ("Zoë", "Zoe"),
            ("Lars", "Lars"), ("Ingrid", "Ingrid")
        ],
        surnames: &[
            ("Ørsted", "Orsted"), ("Åberg", "Aberg"), ("Kierkegaard", "Kierkegaard"),
            ("Jensen", "Jensen"), ("Lindqvist", "Lindqvist"), ("Sjöberg", "Sjoberg")
        ],
        family_first: false,
    },
    Culture {
        weight: 2,
        given: ascii_names!(
            "Giulia", "Marco", "Luca", "Chiara", "Matteo"
        ),
        surnames: ascii_names!(
            "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi"
        ),
        family_first: false,
    },
    Culture {
        weight: 1,
        given: &[
            ("Łukasz", "Lukasz"), ("Jiří", "Jiri"), ("Agnieszka", "Agnieszka"),
            ("Tomáš", "Tomas")
        ],
        surnames: &[
            ("Dvořák", "Dvorak"), ("Kowalski", "Kowalski"), ("Nowak", "Nowak"),
            ("Wiśniewska", "Wisniewska")
        ],
        family_first: false,
    },
    Culture {
        weight: 2,
        given: &[
            ("Сергей", "sergey"), ("Анна", "anna"), ("Ольга", "olga"), ("Иван", "ivan")
        ],
        surnames: &[
            ("Чергик", "chergik"), ("Иванов", "ivanov"), ("Петрова", "petrova"),
            ("Смирнов", "smirnov")
        ],
        family_first: false,
    },
    Culture {
        weight: 2,
        given: &[
            ("小明", "xiaoming"), ("伟", "wei"), ("芳", "fang"), ("静", "jing")
        ],
        surnames: &[
            ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu")
        ],
        family_first: true,
    },
    Culture {
        weight: 1,
        given: &[
            ("太郎", "taro"), ("花子", "hanako"), ("健", "ken"), ("由美", "yumi")
        ],
        surnames: &[
            ("田中", "tanaka"), ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi")
        ],
        family_first: true,
    },
];

const TITLES: [&str; 12] = [
    "Engineer",
    "Senior Engineer",
    "Account Manager",
    "Sales Representative",
    "Accountant",
    "HR Generalist",
    "Team Lead",
    "Director",
    "Analyst",
    "Consultant",
    "Technician",
    "Office Manager",
];
const DEPARTMENTS: [&str; 10] = [
    "Sales",
    "Engineering",
    "Finance",
    "HR",
    "IT",
    "Marketing",
    "Legal",
    "Operations",
    "Research",
    "Logistics",
];
const CITIES: [(&str, &str, &str, &str); 6] = [
    ("Seattle", "WA", "98101", "United States"),
    ("Boston", "MA", "02110", "United States"),
    ("Köln", "NRW", "50667", "Germany"),
    ("Paris", "IDF", "75002", "France"),
    ("Tokyo", "Tokyo", "100-0005", "Japan"),
    ("Austin", "TX", "73301", "United States"),
];
const STREETS: [&str; 6] = [
    "1 Main Street",
    "200 Harbor Way",
    "Hohenzollernring 12",
    "12 rue de la Paix",
    "1-1 Marunouchi",
    "500 Congress Ave",
];
const PARTNER_DOMAINS: [&str; 5] = [
    "partner.example",
    "supplier.example",
    "vendor.example",
    "proveedores.example",
    "partenaire.example",
];

// ------------------------------------------------------------------------------------------
// PRNG (splitmix64)
// ------------------------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    fn pct(&mut self) -> u64 {
        self.below(100)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn guid(&mut self) -> [u8; 16] {
        let a = self.next().to_le_bytes();
        let b = self.next().to_le_bytes();
        let mut g = [0u8; 16];
        g[..8].copy_from_slice(&a);
        g[8..].copy_from_slice(&b);
        g[7] = (g[7] & 0x0F) | 0x40; // Data3 is little-endian: version nibble is in byte 7
        g[8] = (g[8] & 0x3F) | 0x80;
        g
    }
}

// ------------------------------------------------------------------------------------------
// Record writer (ldifde style)
// ------------------------------------------------------------------------------------------

const WIDTH: usize = 80;
const MAX_VALUES: usize = 1500;

struct Rec {
    buf: Vec<u8>,
    scratch: Vec<u8>,
}

impl Rec {
    fn new() -> Self {
        Rec {
            buf: Vec::with_capacity(8192),
            scratch: Vec::with_capacity(512),
        }
    }

    fn start(&mut self, dn: &str) {
        self.buf.clear();
        self.attr("dn", dn.as_bytes());
        self.buf.extend_from_slice(b"changetype: add\r\n");
    }

    fn start_modify(&mut self, dn: &str) {
        self.attr("dn", dn.as_bytes());
        self.buf.extend_from_slice(b"changetype: modify\r\n");
    }

    fn end(&mut self) {
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A string value: plain when SAFE, base64 (`::`) otherwise, as ldifde does.
    fn attr(&mut self, name: &str, value: &[u8]) {
        if needs_base64(value) {
            self.bin(name, value);
        } else {
            self.line(name, b": ", value);
        }
    }

    fn str(&mut self, name: &str, value: &str) {
        self.attr(name, value.as_bytes());
    }

    fn int(&mut self, name: &str, value: i64) {
        self.line(name, b": ", itoa::Buffer::new().format(value).as_bytes());
    }

    /// A binary value: always base64.
    fn bin(&mut self, name: &str, value: &[u8]) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        base64_into(value, &mut scratch);
        self.line(name, b":: ", &scratch);
        self.scratch = scratch;
    }

    /// `name` + `sep` + `value`, folded ldifde-style when longer than WIDTH.
    fn line(&mut self, name: &str, sep: &[u8], value: &[u8]) {
        let b = &mut self.buf;
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(sep);
        if name.len() + sep.len() + value.len() <= WIDTH {
            b.extend_from_slice(value);
            b.extend_from_slice(b"\r\n");
            return;
        }
        b.extend_from_slice(b"\r\n");
        for chunk in value.chunks(WIDTH - 1) {
            b.push(b' ');
            b.extend_from_slice(chunk);
            b.extend_from_slice(b"\r\n");
        }
    }
}

fn needs_base64(v: &[u8]) -> bool {
    match (v.first(), v.last()) {
        (Some(b' ' | b':' | b'<'), _) | (_, Some(b' ')) => return true,
        _ => {}
    }
    v.iter()
        .any(|&c| c >= 0x80 || c == b'\r' || c == b'\n' || c == 0)
}

fn base64_into(input: &[u8], out: &mut Vec<u8>) {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut chunks = input.chunks_exact(3);
    for c in &mut chunks {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out.extend_from_slice(&[
            T[(n >> 18) as usize & 63],
            T[(n >> 12) as usize & 63],
            T[(n >> 6) as usize & 63],
            T[n as usize & 63],
        ]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[T[(n >> 18) as usize & 63], T[(n >> 12) as usize & 63]]);
            out.extend_from_slice(b"==");
        }
        [a, b] => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.extend_from_slice(&[
                T[(n >> 18) as usize & 63],
                T[(n >> 12) as usize & 63],
                T[(n >> 6) as usize & 63],
            ]);
            out.push(b'=');
        }
        _ => {}
    }
}

/// Seconds since 1970 -> `YYYYMMDDhhmmss.0Z` (AD generalized time as ldifde writes it).
fn gtime(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}.0Z",
        y,
        m,
        d,
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Seconds since 1970 -> Windows FILETIME (100 ns since 1601).
fn filetime(secs: i64) -> i64 {
    (secs + 11_644_473_600) * 10_000_000
}

fn sid(rid: u32) -> [u8; 28] {
    let mut s = [0u8; 28];
    s[0] = 1;
    s[1] = 5;
    s[7] = 5;
    s[8..12].copy_from_slice(&21u32.to_le_bytes());
    s[12..16].copy_from_slice(&DOMAIN_SID[0].to_le_bytes());
    s[16..20].copy_from_slice(&DOMAIN_SID[1].to_le_bytes());
    s[20..24].copy_from_slice(&DOMAIN_SID[2].to_le_bytes());
    s[24..28].copy_from_slice(&rid.to_le_bytes());
    s
}

/// Case-insensitive hash of an address (deterministic: `DefaultHasher::new()` has fixed keys).
fn key_hash(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    for b in s.bytes() {
        h.write_u8(b.to_ascii_lowercase());
    }
    h.finish()
}

/// A self-relative security descriptor like the ones Exchange stamps on mailboxes: owner and
/// group SELF, a DACL granting SELF and the account full mailbox access (`CreateChild` |
/// `ReadControl`), inherited by child containers.
fn mailbox_sd(rid: u32) -> [u8; 108] {
    let mut sd = [0u8; 108];
    let acl = 20;
    let ace1 = acl + 8;
    let ace2 = ace1 + 20;
    let owner = ace2 + 36;
    let group = owner + 12;
    sd[0] = 1; // revision
    sd[2..4].copy_from_slice(&0x8004u16.to_le_bytes()); // SE_SELF_RELATIVE | SE_DACL_PRESENT
    sd[4..8].copy_from_slice(&(owner as u32).to_le_bytes());
    sd[8..12].copy_from_slice(&(group as u32).to_le_bytes());
    sd[16..20].copy_from_slice(&(acl as u32).to_le_bytes());
    sd[acl] = 2; // ACL revision
    sd[acl + 2..acl + 4].copy_from_slice(&((owner - acl) as u16).to_le_bytes());
    sd[acl + 4] = 2; // ACE count
    for (at, len) in [(ace1, 20u16), (ace2, 36u16)] {
        sd[at + 1] = 0x02; // CONTAINER_INHERIT_ACE
        sd[at + 2..at + 4].copy_from_slice(&len.to_le_bytes());
        sd[at + 4..at + 8].copy_from_slice(&0x0002_0001u32.to_le_bytes());
    }
    sd[ace1 + 8..ace1 + 20].copy_from_slice(&SELF_SID);
    sd[ace2 + 8..ace2 + 36].copy_from_slice(&sid(rid));
    sd[owner..owner + 12].copy_from_slice(&SELF_SID);
    sd[group..group + 12].copy_from_slice(&SELF_SID);
    sd
}

/// RFC 4514 escaping of an RDN value (the characters these names can contain).
fn escape_rdn(v: &str, out: &mut String) {
    let last = v.len().saturating_sub(1);
    for (i, ch) in v.char_indices() {
        let special = matches!(ch, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (ch == '#' && i == 0)
            || (ch == ' ' && (i == 0 || i == last));
        if special {
            out.push('\\');
        }
        out.push(ch);
    }
}

/// SMTP local-part transliteration (E2007-style table; anything unmapped is dropped).
fn translit(s: &str, keep_space: bool, out: &mut String) {
    for ch in s.chars() {
        let rep: &str = match ch {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '\'' | '-' => {
                out.push(ch);
                continue;
            }
            ' ' if keep_space => " ",
            'ä' => "ae",
            'ö' => "oe",
            'ü' => "ue",
            'Ä' => "Ae",
            'Ö' => "Oe",
            'Ü' => "Ue",
            'ß' => "ss",
            'à' | 'á' | 'â' | 'ã' | 'å' => "a",
            'Å' | 'À' | 'Á' => "A",
            'ç' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ø' => "o",
            'Ø' => "O",
            'ù' | 'ú' | 'û' => "u",
            _ => "",
        };
        out.push_str(rep);
    }
}

// ------------------------------------------------------------------------------------------
// The generator
// ------------------------------------------------------------------------------------------

/// 2004-03-10 00:00:00 UTC and 2024-01-31 00:00:00 UTC.
const T_START: i64 = 1_078_876_800;
const T_END: i64 = 1_706_659_200;

struct Gen {
    rng: Rng,
    count: usize,
    stats: GenStats,
    rec: Rec,
    next_rid: u32,
    usn: i64,
    /// uSNChanged values of modified objects come from above every uSNCreated.
    usn_mod: i64,
    last_created: i64,
    /// Occurrences of a cn per OU, to keep DNs unique.
    cn_seen: HashMap<(usize, String), u32>,
    /// sAMAccountName bases in use.
    sam_seen: HashMap<String, u32>,
    /// Hashes of the `%g.%s` addresses and X.400 addresses already stamped, so that the
    /// existing data has no duplicates (as the RUS would have left it).
    stamped: HashSet<u64>,
    /// Stamped X.400 addresses (hash of the address without a number -> times used).
    x400_seen: HashMap<u64, u32>,
    /// DNs of recent users and contacts, for group membership.
    recent: VecDeque<String>,
    last_name: (usize, usize, usize),
    tmp: String,
}

const RECENT: usize = 6000;

enum UserKind {
    Stamped,
    HomeMdbOnly,
    Plain,
    MailUser,
    ServerOnly,
    Hidden,
    OptedOut,
    WrongTarget,
    Broken,
}

impl Gen {
    fn new(opts: &GenOptions) -> Self {
        Gen {
            rng: Rng(opts.seed ^ 0x5EED_1DF5_7A3B_0001),
            count: opts.count,
            stats: GenStats::default(),
            rec: Rec::new(),
            next_rid: 1103,
            usn: 12_000,
            usn_mod: 12_000 + 6 * opts.count as i64 + 1_000,
            last_created: T_START,
            cn_seen: HashMap::new(),
            sam_seen: HashMap::new(),
            stamped: HashSet::new(),
            x400_seen: HashMap::new(),
            recent: VecDeque::with_capacity(RECENT),
            last_name: (0, 0, 0),
            tmp: String::new(),
        }
    }

    fn remaining(&self) -> usize {
        self.count - self.stats.objects as usize
    }

    fn run<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.prelude(out)?;
        let big = if self.count >= 20_000 {
            (self.count / 250_000).clamp(1, 8)
        } else if self.count >= 4_000 {
            1
        } else {
            0
        };
        while self.remaining() > big {
            let i = self.stats.objects as usize;
            let r = self.rng.pct();
            match r {
                0..=79 => self.user(i),
                80..=89 => self.contact(),
                90..=97 => self.group(false),
                _ => self.resource(),
            }
            self.flush(out)?;
        }
        while self.remaining() > 0 {
            let big_ok = self.recent.len() > MAX_VALUES + 10;
            self.group(big_ok);
            self.flush(out)?;
        }
        Ok(())
    }

    fn flush<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(&self.rec.buf)?;
        self.stats.bytes += self.rec.buf.len() as u64;
        self.stats.objects += 1;
        Ok(())
    }

    /// Creation time: spread over 2004..2024 by position, with a few bulk-import ties.
    fn created(&mut self, i: usize) -> i64 {
        if self.rng.pct() < 3 {
            return self.last_created;
        }
        let span = (T_END - T_START - 86_400 * 30) as u128;
        let base = T_START + (span * i as u128 / self.count.max(1) as u128) as i64;
        let t = base + self.rng.below(86_400) as i64;
        self.last_created = t;
        t
    }

    fn changed(&mut self, created: i64) -> i64 {
        if self.rng.pct() < 20 {
            return created;
        }
        created + self.rng.below((T_END - created).max(1) as u64) as i64
    }

    /// The system attributes every object has, up to and including `uSNChanged` order slots
    /// handled by the caller. Writes distinguishedName .. uSNCreated.
    fn times(&mut self, dn: &str, created: i64, changed: i64, display: Option<&str>) -> i64 {
        self.rec.str("distinguishedName", dn);
        self.rec.int("instanceType", 4);
        let wc = gtime(created);
        let wch = gtime(changed);
        self.rec.str("whenCreated", &wc);
        self.rec.str("whenChanged", &wch);
        if let Some(d) = display {
            self.rec.str("displayName", d);
        }
        self.usn += 1 + self.rng.below(5) as i64;
        let usn_created = self.usn;
        self.rec.int("uSNCreated", usn_created);
        usn_created
    }

    fn usn_changed(&mut self, usn_created: i64, changed_later: bool) {
        let v = if changed_later {
            self.usn_mod += 1 + self.rng.below(3) as i64;
            self.usn_mod
        } else {
            usn_created
        };
        self.rec.int("uSNChanged", v);
    }

    fn prop_data(&mut self, created: i64) {
        if created < 1_270_000_000 {
            self.rec.str("dSCorePropagationData", "20100512081500.0Z");
        }
        self.rec.str("dSCorePropagationData", "16010101000000.0Z");
    }

    fn container(&mut self, dn: &str, rdn: &str, ou: bool) {
        let created = T_START + self.rng.below(3600) as i64;
        self.rec.start(dn);
        self.rec.str("objectClass", "top");
        self.rec.str(
            "objectClass",
            if ou {
                "organizationalUnit"
            } else {
                "container"
            },
        );
        if ou {
            self.rec.str("ou", rdn);
        } else {
            self.rec.str("cn", rdn);
        }
        let u = self.times(dn, created, created, None);
        self.usn_changed(u, false);
        self.rec.str("name", rdn);
        let g = self.rng.guid();
        self.rec.bin("objectGUID", &g);
        self.rec
            .str("objectCategory", if ou { CAT_OU } else { CAT_CONTAINER });
        self.prop_data(created);
        self.rec.end();
    }

    fn prelude<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        let steps: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        for step in steps {
            if self.remaining() == 0 {
                break;
            }
            match step {
                0 => self.container(USERS, "Users", false),
                1 => self.container(COMPUTERS, "Computers", false),
                2 | 3 => self.computer(&SERVERS[usize::from(step - 2)]),
                4 => {
                    let members = [
                        format!("CN=SRV01,{COMPUTERS}"),
                        format!("CN=SRV02,{COMPUTERS}"),
                    ];
                    let dn = format!("CN=Exchange Domain Servers,{USERS}");
                    self.group_record(
                        &dn,
                        "Exchange Domain Servers",
                        "Exchange Domain Servers",
                        -2_147_483_646,
                        &members,
                        None,
                    )
                }
                5 => {
                    // Empty on purpose: the RUS adds the Exchange Domain Servers groups.
                    let dn = format!("CN=Exchange Enterprise Servers,{USERS}");
                    self.group_record(
                        &dn,
                        "Exchange Enterprise Servers",
                        "Exchange Enterprise Servers",
                        -2_147_483_644,
                        &[],
                        None,
                    )
                }
                n => {
                    let (name, dn) = OUS[usize::from(n - 6)];
                    self.container(dn, name, true)
                }
            }
            self.flush(out)?;
        }
        Ok(())
    }

    fn computer(&mut self, srv: &Server) {
        let dn = format!("CN={},{COMPUTERS}", srv.name);
        let created = T_START + 86_400 * 5 + self.rng.below(86_400) as i64;
        let changed = T_END - self.rng.below(86_400 * 20) as i64;
        let r = &mut self.rec;
        r.start(&dn);
        for c in ["top", "person", "organizationalPerson", "user", "computer"] {
            r.str("objectClass", c);
        }
        r.str("cn", srv.name);
        let u = self.times(&dn, created, changed, None);
        self.usn_changed(u, true);
        self.rec.str("name", srv.name);
        let g = self.rng.guid();
        self.rec.bin("objectGUID", &g);
        self.rec.int("userAccountControl", 4096);
        self.account_attrs(created, changed, true, 515, None);
        let rid = self.rid();
        self.rec.bin("objectSid", &sid(rid));
        self.rec.int("accountExpires", i64::MAX);
        self.rec
            .int("logonCount", 300 + self.rng.below(5000) as i64);
        self.rec.str("sAMAccountName", &format!("{}$", srv.name));
        self.rec.int("sAMAccountType", 805_306_369);
        self.rec.str("operatingSystem", "Windows Server 2003");
        self.rec.str("operatingSystemVersion", "5.2 (3790)");
        self.rec.str("operatingSystemServicePack", "Service Pack 2");
        let fq = format!("{}.{SMTP_DOMAIN}", srv.name.to_ascii_lowercase());
        self.rec.str("dNSHostName", &fq);
        for svc in ["exchangeMDB", "SMTPSVC", "HOST"] {
            self.rec.str("servicePrincipalName", &format!("{svc}/{fq}"));
            self.rec
                .str("servicePrincipalName", &format!("{svc}/{}", srv.name));
        }
        self.rec.str("objectCategory", CAT_COMPUTER);
        self.prop_data(created);
        self.rec
            .int("lastLogonTimestamp", filetime(changed - 3600 * 5));
        self.rec.end();
    }

    fn rid(&mut self) -> u32 {
        let r = self.next_rid;
        self.next_rid += 1;
        r
    }

    /// badPwdCount .. primaryGroupID (between userAccountControl and objectSid).
    fn account_attrs(
        &mut self,
        created: i64,
        changed: i64,
        logged: bool,
        primary: i64,
        home: Option<&str>,
    ) {
        let r = &mut self.rec;
        r.int("badPwdCount", 0);
        r.int("codePage", 0);
        r.int("countryCode", 0);
        if let Some(sam) = home {
            let srv = if sam.len() % 2 == 0 { "fs01" } else { "fs02" };
            r.str("homeDirectory", &format!("\\\\{srv}\\home$\\{sam}"));
            r.str("homeDrive", "H:");
        }
        r.int(
            "badPasswordTime",
            if logged {
                filetime(changed - 86_400 * 3)
            } else {
                0
            },
        );
        r.int("lastLogoff", 0);
        r.int("lastLogon", if logged { filetime(changed) } else { 0 });
        if home.is_some() {
            r.str("scriptPath", "logon.cmd");
        }
        r.int("pwdLastSet", filetime(created + 60));
        r.int("primaryGroupID", primary);
    }

    fn pick_name(&mut self) -> (usize, usize, usize) {
        // Deliberate duplicates: 2% reuse the previous user's given name and surname.
        if self.stats.objects > 20 && self.rng.pct() < 2 {
            return self.last_name;
        }
        let total: u32 = CULTURES.iter().map(|c| c.weight).sum();
        let mut w = self.rng.below(u64::from(total)) as u32;
        let mut ci = 0;
        for (i, c) in CULTURES.iter().enumerate() {
            if w < c.weight {
                ci = i;
                break;
            }
            w -= c.weight;
        }
        let c = &CULTURES[ci];
        let gi = self.rng.below(c.given.len() as u64) as usize;
        let si = self.rng.below(c.surnames.len() as u64) as usize;
        self.last_name = (ci, gi, si);
        self.last_name
    }

    /// A unique cn in `ou` (a number is appended on repeats) and its DN.
    fn unique_dn(&mut self, ou: usize, cn: &str) -> (String, String) {
        let n = self.cn_seen.entry((ou, cn.to_owned())).or_insert(0);
        *n += 1;
        let cn = if *n == 1 {
            cn.to_owned()
        } else {
            format!("{cn} {n}")
        };
        let mut dn = String::with_capacity(cn.len() + 40);
        dn.push_str("CN=");
        escape_rdn(&cn, &mut dn);
        dn.push(',');
        dn.push_str(OUS[ou].1);
        (cn, dn)
    }

    fn unique_sam(&mut self, given_ascii: &str, sn_ascii: &str) -> String {
        let mut base = String::with_capacity(20);
        if let Some(c) = given_ascii.chars().next() {
            base.push(c.to_ascii_lowercase());
        }
        for c in sn_ascii.chars() {
            if c.is_ascii_alphabetic() && base.len() < 18 {
                base.push(c.to_ascii_lowercase());
            }
        }
        let n = self.sam_seen.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            base.push_str(&n.to_string());
        }
        base
    }

    fn remember(&mut self, dn: &str) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(dn.to_owned());
    }

    /// The X.400 address of a stamped recipient, unique among the stamped ones: a repeat gets
    /// a number after the surname (ldifstamp's `x400_duplicates = suffix`).
    fn x400(&mut self, sn: &str, given: &str, alias: &str) -> String {
        let mut s = String::with_capacity(64);
        s.push_str(X400_SITE);
        s.push_str("s=");
        let mark = s.len();
        translit(sn, true, &mut s);
        if s.len() == mark {
            s.push_str(alias);
        }
        let surname_end = s.len();
        s.push(';');
        let mark = s.len();
        s.push_str("g=");
        translit(given, false, &mut s);
        if s.len() == mark + 2 {
            s.truncate(mark);
        } else {
            s.push(';');
        }
        let n = self.x400_seen.entry(key_hash(&s)).or_insert(0);
        *n += 1;
        if *n > 1 {
            s.insert_str(surname_end, &n.to_string());
        }
        s
    }

    /// `Given.Surname` local part, if the names transliterate to something.
    fn gs_local(given: &str, sn: &str) -> Option<String> {
        let mut g = String::new();
        translit(given, false, &mut g);
        let mut s = String::new();
        translit(sn, false, &mut s);
        if g.is_empty() || s.is_empty() {
            return None;
        }
        Some(format!("{g}.{s}"))
    }

    fn user(&mut self, i: usize) {
        let (ci, gi, si) = self.pick_name();
        let culture = &CULTURES[ci];
        let (given, given_ascii) = culture.given[gi];
        let (sn, sn_ascii) = culture.surnames[si];
        let r = self.rng.pct();
        let kind = match r {
            // 0..=29 and 99: stamped (below).
            30..=49 => UserKind::HomeMdbOnly,
            50..=89 => UserKind::Plain,
            90..=93 => UserKind::MailUser,
            94..=96 => UserKind::ServerOnly,
            97 => UserKind::Hidden,
            98 => match self.rng.below(3) {
                0 => UserKind::OptedOut,
                1 => UserKind::WrongTarget,
                _ => UserKind::Broken,
            },
            _ => UserKind::Stamped,
        };
        let disabled = self.rng.pct() < 5;
        let ou = if disabled {
            OU_DISABLED
        } else if self.rng.pct() < 15 {
            OU_WAVE2
        } else {
            OU_STAFF
        };
        let display = if culture.family_first {
            format!("{sn} {given}")
        } else if self.rng.pct() < 3 {
            format!("{sn}, {given}")
        } else {
            format!("{given} {sn}")
        };
        let (cn, dn) = self.unique_dn(ou, &display);
        let sam = self.unique_sam(given_ascii, sn_ascii);
        let created = self.created(i);
        let changed = self.changed(created);
        let logged = ou != OU_WAVE2 && self.rng.pct() < 85;
        let srv = &SERVERS[self.rng.below(2) as usize];
        let mailbox = !matches!(
            kind,
            UserKind::Plain | UserKind::MailUser | UserKind::Broken
        );
        let stamped = matches!(
            kind,
            UserKind::Stamped | UserKind::Hidden | UserKind::WrongTarget
        );
        let title = *self.rng.pick(&TITLES);
        let dept = *self.rng.pick(&DEPARTMENTS);
        let city = self.rng.below(CITIES.len() as u64) as usize;
        let (l, st, zip, co) = CITIES[city];
        let phone = 1_000_000 + self.rng.below(8_999_999);
        let manager = if !self.recent.is_empty() && self.rng.pct() < 70 {
            let j = self.rng.below(self.recent.len() as u64) as usize;
            Some(self.recent[j].clone())
        } else {
            None
        };

        let rec = &mut self.rec;
        rec.start(&dn);
        for c in ["top", "person", "organizationalPerson", "user"] {
            rec.str("objectClass", c);
        }
        rec.str("cn", &cn);
        rec.str("sn", sn);
        rec.str("l", l);
        rec.str("st", st);
        rec.str("title", title);
        if self.rng.pct() < 4 {
            self.rec.str(
                "description",
                "Contractor on the Exchange 2003 consolidation project; desk in building 4, \
                 second floor; access reviewed quarterly by the service owner.",
            );
        } else if disabled {
            self.rec
                .str("description", "Disabled account; mailbox retained");
        } else {
            self.rec.str("description", &format!("{title}, {dept}"));
        }
        self.rec.str("postalCode", zip);
        self.rec.str("physicalDeliveryOfficeName", l);
        self.rec
            .str("telephoneNumber", &format!("+1 555 {:07}", phone));
        if self.rng.pct() < 60 {
            self.rec.str(
                "facsimileTelephoneNumber",
                &format!("+1 555 {:07}", phone + 1),
            );
        }
        self.rec.str("givenName", given);
        if self.rng.pct() < 30 {
            let initial = [b'A' + self.rng.below(26) as u8];
            self.rec.attr("initials", &initial);
        }
        let u = self.times(&dn, created, changed, Some(&display));
        self.usn_changed(u, changed > created);
        if self.rng.pct() < 15 {
            // Notes with a line break: always base64.
            self.rec.str(
                "info",
                "Hired through the 2004 acquisition.\r\nAccount reviewed; see HR ticket.",
            );
        }
        self.rec.str("co", co);
        self.rec.str("department", dept);
        self.rec.str("company", "Corp");
        self.rec.str("streetAddress", STREETS[city]);

        // Exchange attributes in the 1.2.840.113556.1.2 range.
        let alias = sam.clone();
        let primary = format!("{alias}@{SMTP_DOMAIN}");
        let mut proxies: Vec<String> = Vec::new();
        let mut x400 = None;
        let mut external = None;
        if matches!(kind, UserKind::MailUser) {
            let mut local = String::new();
            translit(given_ascii, false, &mut local);
            local.push('.');
            translit(sn_ascii, false, &mut local);
            external = Some(format!(
                "{}@{}",
                local.to_ascii_lowercase(),
                self.rng.pick(&PARTNER_DOMAINS)
            ));
        }
        if stamped {
            let xa = self.x400(sn, given, &alias);
            proxies.push(format!("X400:{xa}"));
            if let Some(gs) = Self::gs_local(given, sn) {
                if self.stamped.insert(key_hash(&gs)) {
                    proxies.push(format!("smtp:{gs}@{SMTP_DOMAIN}"));
                }
            }
            proxies.push(format!("SMTP:{primary}"));
            if self.rng.pct() < 40 {
                proxies.push(format!("X500:/o=CorpOld/ou=SITE1/cn=Recipients/cn={alias}"));
            }
            if self.rng.pct() < 20 {
                proxies.push(format!("sip:{alias}@{SMTP_DOMAIN}"));
            }
            x400 = Some(xa);
        }
        if matches!(kind, UserKind::OptedOut) {
            proxies.push(format!("SMTP:{alias}.custom@{SMTP_DOMAIN}"));
        }
        let full_home = stamped || matches!(kind, UserKind::HomeMdbOnly | UserKind::OptedOut);
        if stamped {
            self.rec.str("homeMTA", srv.mta);
        }
        for p in &proxies {
            self.rec.str("proxyAddresses", p);
        }
        if mailbox && !matches!(kind, UserKind::ServerOnly) && full_home {
            self.rec.str("homeMDB", srv.store);
        }
        if let Some(ext) = &external {
            self.rec.str("targetAddress", &format!("SMTP:{ext}"));
        } else if matches!(kind, UserKind::WrongTarget) {
            self.rec
                .str("targetAddress", &format!("SMTP:{alias}@oldcorp.example"));
        }
        if !matches!(kind, UserKind::Plain) {
            self.rec.str("mailNickname", &alias);
        }
        if stamped {
            self.rec.str("mDBUseDefaults", "TRUE");
        }

        // 1.2.840.113556.1.4 range.
        self.rec.str("name", &cn);
        let g = self.rng.guid();
        self.rec.bin("objectGUID", &g);
        self.rec
            .int("userAccountControl", if disabled { 514 } else { 512 });
        self.account_attrs(created, changed, logged, 513, Some(&sam));
        let rid = self.rid();
        self.rec.bin("objectSid", &sid(rid));
        self.rec
            .int("accountExpires", if disabled { i64::MAX } else { 0 });
        let logons = if logged {
            1 + self.rng.below(2000) as i64
        } else {
            0
        };
        self.rec.int("logonCount", logons);
        self.rec.str("sAMAccountName", &sam);
        self.rec.int("sAMAccountType", 805_306_368);
        if stamped && !matches!(kind, UserKind::Hidden) {
            self.rec.str("showInAddressBook", GAL);
            self.rec.str("showInAddressBook", ALL_USERS);
        }
        if matches!(kind, UserKind::Hidden) && self.rng.pct() < 50 {
            // Leftover list membership on a hidden mailbox: the RUS must clear it.
            self.rec.str("showInAddressBook", GAL);
        }
        if stamped {
            self.rec.str(
                "legacyExchangeDN",
                &format!("{AG_LEGACY}/cn=Recipients/cn={alias}"),
            );
        }
        self.rec
            .str("userPrincipalName", &format!("{sam}@{SMTP_DOMAIN}"));
        self.rec.str("objectCategory", CAT_PERSON);
        self.prop_data(created);
        if logged {
            self.rec
                .int("lastLogonTimestamp", filetime(changed - 3600 * 5));
        }
        if let Some(xa) = &x400 {
            self.rec.str("textEncodedORAddress", xa);
        }
        if stamped {
            self.rec.str("mail", &primary);
        } else if matches!(kind, UserKind::OptedOut) {
            self.rec
                .str("mail", &format!("{alias}.custom@{SMTP_DOMAIN}"));
        }
        if let Some(m) = &manager {
            self.rec.str("manager", m);
        }
        self.rec.str("mobile", &format!("+1 555 {:07}", phone + 17));

        // Exchange 1.2.840.113556.1.4.7000.102 range.
        if stamped || matches!(kind, UserKind::ServerOnly) {
            self.rec.str("msExchHomeServerName", srv.legacy);
        }
        if matches!(kind, UserKind::Hidden) {
            self.rec.str("msExchHideFromAddressLists", "TRUE");
        }
        if stamped {
            self.rec
                .int("msExchUserAccountControl", if disabled { 2 } else { 0 });
            self.rec
                .int("msExchALObjectVersion", 10 + self.rng.below(150) as i64);
            self.rec
                .bin("msExchMailboxSecurityDescriptor", &mailbox_sd(rid));
            let mg = self.rng.guid();
            self.rec.bin("msExchMailboxGuid", &mg);
        }
        if matches!(kind, UserKind::OptedOut) {
            self.rec.str("msExchPoliciesExcluded", EAP_GUID);
        }
        if stamped {
            self.rec.str("msExchPoliciesIncluded", POLICIES_INCLUDED);
        }
        self.rec.end();
        self.remember(&dn);
    }

    fn contact(&mut self) {
        let i = self.stats.objects as usize;
        let (ci, gi, si) = self.pick_name();
        let culture = &CULTURES[ci];
        let (given, given_ascii) = culture.given[gi];
        let (sn, sn_ascii) = culture.surnames[si];
        let display = if culture.family_first {
            format!("{sn} {given}")
        } else {
            format!("{given} {sn}")
        };
        let (cn, dn) = self.unique_dn(OU_PARTNERS, &display);
        let created = self.created(i);
        let changed = self.changed(created);
        let r = self.rng.pct();
        let mail_enabled = r < 50;
        let stamped = r < 25;
        let company = *self
            .rng
            .pick(&["Partner AG", "Supplier KK", "Vendor Inc.", "Auditors LLP"]);
        let mut local = String::new();
        translit(given_ascii, false, &mut local);
        local.push('.');
        translit(sn_ascii, false, &mut local);
        let local = local.to_ascii_lowercase();
        let n = self.stats.objects;
        let ext = format!("{local}{n}@{}", self.rng.pick(&PARTNER_DOMAINS));
        let mut alias = String::new();
        translit(given_ascii, false, &mut alias);
        translit(sn_ascii, false, &mut alias);
        alias.push_str(&n.to_string());

        let rec = &mut self.rec;
        rec.start(&dn);
        for c in ["top", "person", "organizationalPerson", "contact"] {
            rec.str("objectClass", c);
        }
        rec.str("cn", &cn);
        rec.str("sn", sn);
        rec.str(
            "telephoneNumber",
            &format!("+44 20 {:08}", 10_000_000 + n % 89_999_999),
        );
        rec.str("givenName", given);
        let u = self.times(&dn, created, changed, Some(&display));
        self.usn_changed(u, changed > created);
        self.rec.str("company", company);
        let x400 = if stamped {
            self.x400(sn, given, &alias)
        } else {
            String::new()
        };
        if stamped {
            self.rec.str("proxyAddresses", &format!("X400:{x400}"));
            self.rec
                .str("proxyAddresses", &format!("smtp:{alias}@{PARTNERS_SMTP}"));
            self.rec.str("proxyAddresses", &format!("SMTP:{ext}"));
        }
        if mail_enabled {
            self.rec.str("targetAddress", &format!("SMTP:{ext}"));
            self.rec.str("mAPIRecipient", "FALSE");
            self.rec.str("mailNickname", &alias);
        }
        self.rec.str("name", &cn);
        let g = self.rng.guid();
        self.rec.bin("objectGUID", &g);
        if stamped {
            self.rec.str("showInAddressBook", GAL);
            self.rec.str("showInAddressBook", ALL_CONTACTS);
            self.rec.str(
                "legacyExchangeDN",
                &format!("{AG_LEGACY}/cn=Recipients/cn={alias}"),
            );
        }
        self.rec.str("objectCategory", CAT_PERSON);
        self.prop_data(created);
        if stamped {
            self.rec.str("textEncodedORAddress", &x400);
        }
        if stamped || (!mail_enabled && r >= 85) {
            self.rec.str("mail", &ext);
        }
        if stamped {
            self.rec.int("internetEncoding", 0);
            self.rec
                .str("msExchPoliciesIncluded", PARTNERS_POLICIES_INCLUDED);
        }
        self.rec.end();
        self.remember(&dn);
    }

    fn resource(&mut self) {
        let i = self.stats.objects as usize;
        let n = self.stats.objects;
        let room = self.rng.pct() < 70;
        let label = if room {
            format!("Conference Room {n}")
        } else {
            format!("Equipment {n}")
        };
        let (cn, dn) = self.unique_dn(OU_RESOURCES, &label);
        let sam = if room {
            format!("room-{n}")
        } else {
            format!("equip-{n}")
        };
        let created = self.created(i);
        let changed = self.changed(created);
        let stamped = self.rng.pct() < 50;
        let srv = &SERVERS[self.rng.below(2) as usize];
        let rec = &mut self.rec;
        rec.start(&dn);
        for c in ["top", "person", "organizationalPerson", "user"] {
            rec.str("objectClass", c);
        }
        rec.str("cn", &cn);
        rec.str(
            "description",
            if room {
                "Bookable room"
            } else {
                "Bookable equipment"
            },
        );
        let u = self.times(&dn, created, changed, Some(&label));
        self.usn_changed(u, changed > created);
        let primary = format!("{sam}@{SMTP_DOMAIN}");
        let x400 = format!("{X400_SITE}s={sam};");
        if stamped {
            self.rec.str("homeMTA", srv.mta);
            self.rec.str("proxyAddresses", &format!("X400:{x400}"));
            self.rec.str("proxyAddresses", &format!("SMTP:{primary}"));
        }
        self.rec.str("homeMDB", srv.store);
        self.rec.str("mailNickname", &sam);
        if stamped {
            self.rec.str("mDBUseDefaults", "TRUE");
        }
        self.rec.str("name", &cn);
        let g = self.rng.guid();
        self.rec.bin("objectGUID", &g);
        self.rec.int("userAccountControl", 514);
        self.account_attrs(created, changed, false, 513, None);
        let rid = self.rid();
        self.rec.bin("objectSid", &sid(rid));
        self.rec.int("accountExpires", i64::MAX);
        self.rec.int("logonCount", 0);
        self.rec.str("sAMAccountName", &sam);
        self.rec.int("sAMAccountType", 805_306_368);
        if stamped {
            self.rec.str("showInAddressBook", GAL);
            self.rec.str("showInAddressBook", ALL_USERS);
            self.rec.str(
                "legacyExchangeDN",
                &format!("{AG_LEGACY}/cn=Recipients/cn={sam}"),
            );
        }
        self.rec.str("objectCategory", CAT_PERSON);
        self.prop_data(created);
        if stamped {
            self.rec.str("textEncodedORAddress", &x400);
            self.rec.str("mail", &primary);
            self.rec.str("msExchHomeServerName", srv.legacy);
            self.rec.bin("msExchMasterAccountSid", &SELF_SID);
            self.rec.int("msExchUserAccountControl", 2);
            let mg = self.rng.guid();
            self.rec.bin("msExchMailboxGuid", &mg);
            self.rec.str("msExchPoliciesIncluded", POLICIES_INCLUDED);
        }
        self.rec.end();
    }

    fn group(&mut self, big: bool) {
        let n = self.stats.objects;
        let dept = *self.rng.pick(&DEPARTMENTS);
        let label = if big {
            format!("All {dept} Archive {n}")
        } else {
            format!("{dept} Team {n}")
        };
        let size = if big {
            (MAX_VALUES + 1 + self.rng.below(2500) as usize).min(self.recent.len())
        } else {
            (1 + self.rng.below(8) as usize).min(self.recent.len())
        };
        let mut members = Vec::with_capacity(size);
        if big {
            let skip = self.recent.len() - size;
            members.extend(self.recent.iter().skip(skip).cloned());
        } else {
            let mut used = Vec::with_capacity(size);
            for _ in 0..size {
                let j = self.rng.below(self.recent.len() as u64) as usize;
                if !used.contains(&j) {
                    used.push(j);
                    members.push(self.recent[j].clone());
                }
            }
        }
        let gt = match self.rng.below(3) {
            0 => -2_147_483_646,
            1 => -2_147_483_640,
            _ => 8,
        };
        let mail = if big || self.rng.pct() < 50 {
            let stamped = !big && self.rng.pct() < 50;
            Some((label.replace(' ', ""), stamped))
        } else {
            None
        };
        let (_, dn) = self.unique_dn(OU_GROUPS, &label);
        let sam = if big {
            format!("Archive{n}")
        } else {
            format!("{dept}{n}")
        };
        self.group_record(&dn, &label, &sam, gt, &members, mail);
    }

    fn group_record(
        &mut self,
        dn: &str,
        cn: &str,
        sam: &str,
        group_type: i64,
        members: &[String],
        mail: Option<(String, bool)>,
    ) {
        let i = self.stats.objects as usize;
        let created = self.created(i);
        let changed = self.changed(created);
        let rec = &mut self.rec;
        rec.start(dn);
        rec.str("objectClass", "top");
        rec.str("objectClass", "group");
        rec.str("cn", cn);
        rec.str("description", "Group");
        for m in members.iter().take(MAX_VALUES) {
            rec.str("member", m);
        }
        let display = mail.as_ref().map(|_| cn);
        let u = self.times(dn, created, changed, display);
        self.usn_changed(u, changed > created);
        let stamped = matches!(mail, Some((_, true)));
        if let Some((alias, _)) = &mail {
            let x400 = format!("{X400_SITE}s={alias};");
            if stamped {
                self.rec.str("reportToOriginator", "TRUE");
                self.rec.str("proxyAddresses", &format!("X400:{x400}"));
                self.rec
                    .str("proxyAddresses", &format!("SMTP:{alias}@{SMTP_DOMAIN}"));
            }
            self.rec.str("mailNickname", alias);
        }
        self.rec.str("name", cn);
        let g = self.rng.guid();
        self.rec.bin("objectGUID", &g);
        let rid = self.rid();
        self.rec.bin("objectSid", &sid(rid));
        self.rec.str("sAMAccountName", sam);
        let sam_type = match group_type {
            -2_147_483_644 => 536_870_912,
            8 => 268_435_457,
            _ => 268_435_456,
        };
        self.rec.int("sAMAccountType", sam_type);
        if let (true, Some((alias, _))) = (stamped, &mail) {
            self.rec.str("showInAddressBook", GAL);
            self.rec.str("showInAddressBook", ALL_GROUPS);
            self.rec.str(
                "legacyExchangeDN",
                &format!("{AG_LEGACY}/cn=Recipients/cn={alias}"),
            );
        }
        self.rec.int("groupType", group_type);
        self.rec.str("objectCategory", CAT_GROUP);
        self.prop_data(created);
        if let (true, Some((alias, _))) = (stamped, &mail) {
            self.rec
                .str("textEncodedORAddress", &format!("{X400_SITE}s={alias};"));
            self.rec.str("mail", &format!("{alias}@{SMTP_DOMAIN}"));
            self.rec.str("msExchPoliciesIncluded", POLICIES_INCLUDED);
        }
        self.rec.end();
        if members.len() > MAX_VALUES {
            // ldifde's follow-up record for the values past MaxValRange.
            self.rec.start_modify(dn);
            for m in &members[MAX_VALUES..] {
                self.rec.buf.extend_from_slice(b"add: member\r\n");
                self.rec.str("member", m);
                self.rec.buf.extend_from_slice(b"-\r\n");
            }
            self.rec.end();
        }
    }
}
