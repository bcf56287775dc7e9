//! csvde CSV: reading exports and writing csvde-style CSV.
//!
//! The header row names the attributes and the DN column comes first (matched
//! case-insensitively). Fields use RFC 4180 quoting. An empty field means the attribute is
//! absent. Values of multi-valued attributes are joined with `;` (csvde has no escape for a `;`
//! inside a value, so only attributes known to be multi-valued are split, plus any named with
//! `--csv-multi-valued`). `X'hex'` holds binary values and, in csvde's default ANSI mode,
//! non-ASCII strings as hex of their UTF-8 bytes; both become the bytes they encode.

use std::io::{Read, Write};

use crate::error::Location;
use crate::ldif::Item;
use crate::model::{attr_eq, EntryBuilder, Record};

/// Attributes whose csvde values are `;`-joined lists.
pub const MULTI_VALUED: &[&str] = &[
    "objectClass",
    "member",
    "memberOf",
    "proxyAddresses",
    "showInAddressBook",
    "msExchPoliciesIncluded",
    "msExchPoliciesExcluded",
    "otherTelephone",
    "otherMobile",
    "otherHomePhone",
    "otherFacsimileTelephoneNumber",
    "url",
    "dSCorePropagationData",
    "servicePrincipalName",
    "sIDHistory",
    "userCertificate",
    "publicDelegates",
    "directReports",
    "seeAlso",
    "managedObjects",
    "msExchPolicyList",
    "wellKnownObjects",
    "otherWellKnownObjects",
    "subRefs",
    "masteredBy",
    "msDS-hasMasterNCs",
    "hasMasterNCs",
];

/// Reads csvde rows as [`Item`]s.
pub struct CsvReader {
    name: &'static str,
    reader: csv::Reader<Box<dyn Read + Send>>,
    header: Vec<Vec<u8>>,
    split: Vec<bool>,
    row: u64,
    /// Line where the next row starts (counted from the fields: csv's own positions lag by a
    /// line on CRLF files).
    next_line: u64,
    record: csv::ByteRecord,
    fallback_1252: bool,
}

impl CsvReader {
    /// Opens a CSV stream whose first row is the header.
    pub fn new(
        name: &'static str,
        input: Box<dyn Read + Send>,
        extra_multi: &[String],
        fallback_1252: bool,
    ) -> Result<CsvReader, String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut header = csv::ByteRecord::new();
        match reader.read_byte_record(&mut header) {
            Ok(true) => {}
            Ok(false) => return Err(format!("{name}: empty CSV file (no header row)")),
            Err(e) => return Err(format!("{name}:1: {e}")),
        }
        let next_line = 2 + newlines(&header);
        let header: Vec<Vec<u8>> = header.iter().map(|h| h.trim_ascii().to_vec()).collect();
        match header.first() {
            Some(h) if h.eq_ignore_ascii_case(b"dn") => {}
            _ => {
                return Err(format!(
                    "{name}:1: the first column of a csvde header must be `DN` (found `{}`)",
                    String::from_utf8_lossy(header.first().map_or(&b""[..], |h| h))
                ))
            }
        }
        // A second `DN` column would be written as a second `dn:` line of the record.
        if let Some(i) = header
            .iter()
            .skip(1)
            .position(|h| crate::model::attr_type(h).eq_ignore_ascii_case(b"dn"))
        {
            return Err(format!(
                "{name}:1: column {} is named `{}`: only the first column holds the DN",
                i + 2,
                String::from_utf8_lossy(&header[i + 1])
            ));
        }
        let split = header
            .iter()
            .map(|h| {
                MULTI_VALUED.iter().any(|m| attr_eq(h, m.as_bytes()))
                    || extra_multi.iter().any(|m| attr_eq(h, m.as_bytes()))
            })
            .collect();
        Ok(CsvReader {
            name,
            reader,
            header,
            split,
            row: 0,
            next_line,
            record: csv::ByteRecord::new(),
            fallback_1252,
        })
    }

    /// Bytes of CSV text read so far, the header included (after transcoding, like the
    /// offsets of LDIF records).
    pub fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }

    /// Reads up to `max` rows.
    pub fn next_batch(&mut self, max: usize) -> Vec<Item> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => break,
                Ok(true) => {
                    self.row += 1;
                    let line = self.next_line;
                    self.next_line += 1 + newlines(&self.record);
                    out.push(self.item(line));
                }
                Err(e) => {
                    self.row += 1;
                    let line = e.position().map_or(0, |p| p.line());
                    out.push(Item {
                        location: Location {
                            file: self.name,
                            line,
                            record: self.row,
                            dn: None,
                            offset: self.row,
                        },
                        result: Err(format!("malformed CSV row: {e}")),
                        raw: None,
                        warnings: Vec::new(),
                        skipped: None,
                    });
                    if e.is_io_error() {
                        break;
                    }
                }
            }
        }
        out
    }

    fn item(&self, line: u64) -> Item {
        let mut location = Location {
            file: self.name,
            line,
            record: self.row,
            dn: None,
            offset: self.row,
        };
        let mut warnings = Vec::new();
        let raw = || {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_byte_record(&self.record);
            w.into_inner().unwrap_or_default()
        };
        let fail = |location: Location, msg: String| Item {
            location,
            result: Err(msg),
            raw: Some(raw()),
            warnings: Vec::new(),
            skipped: None,
        };
        if self.record.len() != self.header.len() {
            return fail(
                location,
                format!(
                    "the row has {} fields but the header has {}",
                    self.record.len(),
                    self.header.len()
                ),
            );
        }
        let dn_field = self.record.get(0).unwrap_or_default();
        let dn = match decode_field(dn_field) {
            Ok(d) => d,
            Err(m) => return fail(location, format!("column `DN`: {m}")),
        };
        let dn = self.text(dn, &mut warnings, line);
        location.dn = Some(String::from_utf8_lossy(&dn).into_owned());
        if dn.is_empty() {
            return fail(location, "the `DN` field is empty".into());
        }
        if let Err(e) = crate::model::dn::parse(&dn) {
            return fail(location, format!("malformed DN: {e}"));
        }
        let mut b = EntryBuilder::with_capacity(&dn, self.record.as_slice().len());
        for (i, field) in self.record.iter().enumerate().skip(1) {
            if field.is_empty() {
                continue;
            }
            let name = &self.header[i];
            let parts: Vec<&[u8]> = if !self.split[i] {
                vec![field]
            } else if attr_eq(name, b"proxyAddresses") {
                split_proxies(field)
            } else {
                field.split(|c| *c == b';').collect()
            };
            for part in parts {
                if part.is_empty() {
                    continue;
                }
                match decode_field(part) {
                    Ok(v) => {
                        let v = if is_hex_literal(part) {
                            v
                        } else {
                            self.text(v, &mut warnings, line)
                        };
                        if let Some(bin) = crate::ldif::parse::binary_from_text(name, &v) {
                            b.push(name, &bin);
                        } else {
                            b.push(name, &v);
                        }
                    }
                    Err(m) => {
                        return fail(
                            location,
                            format!("column `{}`: {m}", String::from_utf8_lossy(name)),
                        )
                    }
                }
            }
        }
        Item {
            location,
            result: Ok(Record::Entry(b.finish())),
            raw: None,
            warnings,
            skipped: None,
        }
    }

    /// Text from the file: UTF-8, or Windows-1252 when it is not valid UTF-8.
    fn text(
        &self,
        v: Vec<u8>,
        warnings: &mut Vec<crate::ldif::parse::Warning>,
        line: u64,
    ) -> Vec<u8> {
        if self.fallback_1252 && std::str::from_utf8(&v).is_err() {
            warnings.push(crate::ldif::parse::Warning {
                line,
                message: "a field is not valid UTF-8; decoded as Windows-1252".into(),
            });
            return encoding_rs::WINDOWS_1252
                .decode(&v)
                .0
                .into_owned()
                .into_bytes();
        }
        v
    }
}

/// Splits a csvde `proxyAddresses` field. X.400 addresses contain `;` themselves, so a piece
/// only starts a new value when it begins with an address type and `:` (`smtp:`, `X400:`);
/// other pieces belong to the value before them.
fn split_proxies(field: &[u8]) -> Vec<&[u8]> {
    let starts_value = |p: &[u8]| {
        let t = p.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
        (t > 0 && p.get(t) == Some(&b':')) || is_hex_literal(p)
    };
    let mut out: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i <= field.len() {
        if i == field.len() || field[i] == b';' {
            let next = &field[(i + 1).min(field.len())..];
            if i == field.len() || starts_value(next) {
                out.push(&field[start..i]);
                start = i + 1;
            }
        }
        i += 1;
    }
    out
}

fn newlines(r: &csv::ByteRecord) -> u64 {
    r.iter()
        .map(|f| memchr::memchr_iter(b'\n', f).count() as u64)
        .sum()
}

fn is_hex_literal(f: &[u8]) -> bool {
    f.len() >= 3 && (f[0] == b'X' || f[0] == b'x') && f[1] == b'\'' && f[f.len() - 1] == b'\''
}

/// Decodes one csvde field: `X'hex'` to bytes, anything else as is.
pub fn decode_field(f: &[u8]) -> Result<Vec<u8>, String> {
    if !is_hex_literal(f) {
        return Ok(f.to_vec());
    }
    let hex = &f[2..f.len() - 1];
    if hex.len() % 2 != 0 {
        return Err("an `X'...'` value must have an even number of hex digits".into());
    }
    hex.chunks(2)
        .map(|p| {
            let s = std::str::from_utf8(p).map_err(|_| "invalid hex".to_string())?;
            u8::from_str_radix(s, 16).map_err(|_| format!("`{s}` is not hex in an `X'...'` value"))
        })
        .collect()
}

/// Encodes one value for csvde: `X'hex'` for binary attributes, non-ASCII or control bytes
/// (csvde's ANSI mode), and values that contain `;` in a multi-valued column; the text as is
/// otherwise.
pub fn encode_field(binary: bool, multi: bool, v: &[u8], out: &mut Vec<u8>) {
    let plain = !binary
        && v.iter().all(|c| (0x20..0x7f).contains(c))
        && (!multi || !v.contains(&b';'))
        && !is_hex_literal(v);
    if plain {
        out.extend_from_slice(v);
    } else {
        out.extend_from_slice(b"X'");
        for c in v {
            let _ = write!(out, "{c:02x}");
        }
        out.push(b'\'');
    }
}

/// Writes entries as a csvde CSV: `DN` then `columns`, CRLF rows.
pub struct CsvWriter {
    columns: Vec<Vec<u8>>,
    binary: Vec<bool>,
    multi: Vec<bool>,
}

impl CsvWriter {
    /// A writer for these attribute columns (after `DN`).
    pub fn new(columns: Vec<Vec<u8>>) -> Self {
        let binary = columns
            .iter()
            .map(|c| crate::model::schema::attr_info(c).is_binary())
            .collect();
        let multi = columns
            .iter()
            .map(|c| MULTI_VALUED.iter().any(|m| attr_eq(c, m.as_bytes())))
            .collect();
        CsvWriter {
            columns,
            binary,
            multi,
        }
    }

    /// The header row.
    pub fn header(&self, out: &mut Vec<u8>) {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        let mut row: Vec<&[u8]> = vec![b"DN"];
        row.extend(self.columns.iter().map(|c| c.as_slice()));
        let _ = w.write_record(row);
        let _ = w.flush();
    }

    /// One row for `entry` (attributes not in the columns are dropped; callers collect every
    /// column in a first pass).
    pub fn row(&self, entry: &crate::model::Entry, out: &mut Vec<u8>) {
        let mut fields: Vec<Vec<u8>> = Vec::with_capacity(self.columns.len() + 1);
        let mut dn = Vec::new();
        encode_field(false, false, entry.dn(), &mut dn);
        fields.push(dn);
        for (i, c) in self.columns.iter().enumerate() {
            let mut f = Vec::new();
            if let Some(a) = entry.get_bytes(c) {
                for (k, v) in a.values().enumerate() {
                    if k > 0 {
                        f.push(b';');
                    }
                    encode_field(self.binary[i], self.multi[i], v, &mut f);
                }
            }
            fields.push(f);
        }
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        let _ = w.write_record(&fields);
        let _ = w.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Item> {
        let mut r = CsvReader::new(
            "t.csv",
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            &[],
            true,
        )
        .unwrap();
        r.next_batch(100)
    }

    #[test]
    fn csvde_rows_become_entries() {
        let items = read(
            "DN,objectClass,cn,objectGUID,description,proxyAddresses\r\n\
             \"CN=Smith\\, John,OU=Staff,DC=x\",top;person;user,X'4ac3a9',X'78563412bc9af0de1122334455667788',a;b,SMTP:a@x;smtp:b@x\r\n",
        );
        let Ok(Record::Entry(e)) = &items[0].result else {
            panic!("{:?}", items[0].result)
        };
        assert_eq!(e.dn(), br"CN=Smith\, John,OU=Staff,DC=x");
        assert_eq!(e.values("objectClass").count(), 3);
        assert_eq!(e.first("description").unwrap(), b"a;b");
        assert_eq!(e.values("proxyAddresses").count(), 2);
        assert_eq!(e.first("objectGUID").unwrap().len(), 16);
        assert_eq!(items[0].location.line, 2);
    }

    #[test]
    fn x400_proxies_keep_their_semicolons() {
        let items = read("DN,proxyAddresses\r\n\"CN=x,DC=x\",SMTP:a@x;X400:c=US;a= ;p=Corp;o=Exchange;s=A;;smtp:b@x\r\n");
        let Ok(Record::Entry(e)) = &items[0].result else {
            panic!()
        };
        let v: Vec<&[u8]> = e.values("proxyAddresses").collect();
        assert_eq!(
            v,
            vec![
                &b"SMTP:a@x"[..],
                b"X400:c=US;a= ;p=Corp;o=Exchange;s=A;",
                b"smtp:b@x"
            ]
        );
    }

    #[test]
    fn hex_strings_decode_to_utf8_and_bad_hex_is_an_error() {
        let items = read("DN,cn\r\n\"CN=x,DC=x\",X'4ac3bc'\r\n\"CN=y,DC=x\",X'4g'\r\n");
        let Ok(Record::Entry(e)) = &items[0].result else {
            panic!()
        };
        assert_eq!(e.first("cn").unwrap(), "Jü".as_bytes());
        assert!(items[1].result.is_err());
        assert_eq!(items[1].location.record, 2);
    }

    #[test]
    fn empty_fields_are_absent_and_a_missing_dn_header_is_refused() {
        let items = read("dn,cn,sn\n\"CN=x,DC=x\",,s\n");
        let Ok(Record::Entry(e)) = &items[0].result else {
            panic!()
        };
        assert!(!e.has("cn"));
        assert!(CsvReader::new(
            "t",
            Box::new(std::io::Cursor::new(b"cn,DN\n".to_vec())),
            &[],
            true
        )
        .is_err());
    }

    #[test]
    fn a_second_dn_column_is_refused() {
        for header in [&b"DN,cn,dn\n"[..], b"DN,Dn;x,cn\n"] {
            let err = CsvReader::new(
                "t.csv",
                Box::new(std::io::Cursor::new(header.to_vec())),
                &[],
                true,
            )
            .err()
            .expect("refused");
            assert!(err.starts_with("t.csv:1: column "), "{err}");
            assert!(err.contains("only the first column holds the DN"), "{err}");
        }
    }

    #[test]
    fn encode_round_trips_through_decode() {
        for (bin, v) in [
            (false, &b"plain"[..]),
            (true, b"\x00\x01"),
            (false, "é".as_bytes()),
        ] {
            let mut out = Vec::new();
            encode_field(bin, false, v, &mut out);
            assert_eq!(decode_field(&out).unwrap(), v);
        }
    }
}
