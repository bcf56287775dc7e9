//! The policy reference (`docs/policy.md`) keeps up with the policy file format: every key of
//! the serde structs in `src/policy/mod.rs` is documented, every section has a heading, and the
//! shipped sample policy compiles.

use crate::harness::root;

/// The serde structs that define the policy file, as named in `src/policy/mod.rs`.
const STRUCTS: &[&str] = &[
    "File",
    "OrgFile",
    "ServerFile",
    "MailboxFile",
    "TargetFile",
    "GroupFile",
    "PolicyFile",
    "ListFile",
    "AddressesFile",
];

/// One field of a struct: its name and its type as written.
struct Field {
    name: String,
    ty: String,
}

/// The fields of `struct <name> {` in `source`, or `None` when the struct is not there.
///
/// Simple text processing: the body runs from the line `struct <name> {` to the first line
/// that is `}`; attribute lines (`#[serde(default)]`), comments and blank lines are skipped;
/// every other line is `name: Type,` (optionally `pub name: Type,`).
fn struct_fields(source: &str, name: &str) -> Option<Vec<Field>> {
    let opening = format!("struct {name} {{");
    let mut lines = source.lines();
    lines.find(|l| {
        let t = l.trim();
        t == opening || t.ends_with(&format!(" {opening}"))
    })?;
    let mut fields = Vec::new();
    for line in lines {
        let t = line.trim();
        if t == "}" {
            return Some(fields);
        }
        if t.is_empty() || t.starts_with("#[") || t.starts_with("//") {
            continue;
        }
        let t = t.strip_prefix("pub ").unwrap_or(t);
        let Some((field, ty)) = t.split_once(':') else {
            panic!("src/policy/mod.rs: cannot read the field line `{t}` of struct {name}");
        };
        let field = field.trim();
        assert!(
            !field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "src/policy/mod.rs: `{field}` in struct {name} is not a field name"
        );
        fields.push(Field {
            name: field.to_string(),
            ty: ty.trim().trim_end_matches(',').trim().to_string(),
        });
    }
    panic!("src/policy/mod.rs: struct {name} has no closing `}}`");
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn policy_reference_documents_every_key() {
    let source = read("src/policy/mod.rs");
    let doc = read("docs/policy.md");

    // Every serde struct of the format is checked, including ones added later.
    let mut structs: Vec<String> = STRUCTS.iter().map(|s| (*s).to_string()).collect();
    for line in source.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("struct ") {
            if let Some(name) = rest.strip_suffix(" {") {
                if name.ends_with("File") && !structs.iter().any(|s| s == name) {
                    structs.push(name.to_string());
                }
            }
        }
    }

    let mut undocumented = Vec::new();
    for s in &structs {
        let fields = struct_fields(&source, s)
            .unwrap_or_else(|| panic!("src/policy/mod.rs: `struct {s} {{` not found"));
        assert!(
            !fields.is_empty(),
            "src/policy/mod.rs: struct {s} has no fields"
        );
        for f in fields {
            if !doc.contains(&format!("`{}`", f.name)) {
                undocumented.push(format!(
                    "key `{}` of struct {s} is not documented in docs/policy.md (expected `{}` in backticks)",
                    f.name, f.name
                ));
            }
        }
    }

    // Every section of the file has a Markdown heading (outside code blocks, where `#` starts
    // a TOML comment): `[[name]]` for arrays of tables, `[name]` for tables.
    let mut headings: Vec<&str> = Vec::new();
    let mut in_code = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            headings.push(line);
        }
    }
    let sections = struct_fields(&source, "File").expect("struct File");
    let mut problems = undocumented;
    for f in &sections {
        let section = if f.ty.starts_with("Vec<") {
            format!("[[{}]]", f.name)
        } else {
            format!("[{}]", f.name)
        };
        if !headings.iter().any(|h| h.contains(&section)) {
            problems.push(format!(
                "section `{section}` (field `{}: {}` of struct File) has no heading in docs/policy.md",
                f.name, f.ty
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn sample_policy_loads() {
    let path = root().join("samples/policy.toml");
    let policy = ldifstamp::policy::Policy::load(&path)
        .unwrap_or_else(|e| panic!("samples/policy.toml does not compile:\n{e}"));
    assert_eq!(policy.org.name, "Corp");
    assert_eq!(policy.servers.len(), 2, "two [[server]] tables");
    assert_eq!(policy.mailbox.len(), 2, "two [[mailbox]] rules");
    assert_eq!(
        policy.address_lists.len(),
        5,
        "default_address_lists = true adds the five Exchange 2003 lists"
    );
    let priorities: Vec<i64> = policy
        .recipient_policies
        .iter()
        .map(|p| p.priority)
        .collect();
    assert_eq!(
        priorities,
        vec![1, 100],
        "recipient policies sorted by priority"
    );
    assert!(
        policy.warnings.is_empty(),
        "the sample policy loads without warnings: {:?}",
        policy.warnings
    );
}
