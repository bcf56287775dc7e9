//! `ldifstamp plan`: the change records that give every recipient what the Exchange 2003
//! Recipient Update Service would have stamped.
//!
//! Two streaming passes over the exports: pass 1 indexes every held value and collects the
//! claims of objects that need new ones, and spools what it prepared of those objects (see
//! [`crate::commands::spool`]); one deterministic allocation pass serves the claims; pass 2
//! re-reads the exports and stamps each entry in parallel, from the spooled preparation where
//! there is one, writing minimal modify records in input order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::cli::{Common, PlanArgs};
use crate::commands::convert::sources_of;
use crate::commands::places::{reserve_hint, Places};
use crate::commands::spool::{self, Spool};
use crate::commands::{Diagnostics, Outcome};
use crate::error::{Error, Result};
use crate::exchange::recipient::{self, Kind};
use crate::exchange::stamp::{
    EnabledBy, Engine, EngineSettings, Mode, Prepared, SpoolCodec, StampedSet,
};
use crate::exchange::uniqueness::{
    AllocSettings, Claim, Decisions, Held, Holds, Index, IntMap, Turns, INDEX_OWNER,
};
use crate::input::Item;
use crate::ldif::parse::Skip;
use crate::ldif::writer::Writer;
use crate::model::{dn, Record};
use crate::pipeline::{self, ReadStats};
use crate::policy::Policy;
use crate::sink::Output;

/// The JSON summary (`--summary FILE`).
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Seed used for msExchMailboxGuid.
    pub guid_seed: u64,
    /// Mode.
    pub mode: String,
    /// Records read from the exports.
    pub records: u64,
    /// Entries with a change record.
    pub changed: u64,
    /// Entries needing no change.
    pub unchanged: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Records skipped (no data).
    pub skipped: u64,
    /// Entries outside `--scope-base` (indexed only).
    pub out_of_scope: u64,
    /// Objects by kind (after mail-enabling).
    pub kinds: BTreeMap<String, u64>,
    /// Objects mail-enabled, by rule.
    pub enabled_by_rule: BTreeMap<String, u64>,
    /// Entries whose attribute changes, by attribute.
    pub changes_by_attribute: BTreeMap<String, u64>,
    /// Changed entries by recipient policy.
    pub changes_by_policy: BTreeMap<String, u64>,
    /// Warnings.
    pub warnings: u64,
    /// Values already shared by two objects in the input (reported, not fixed).
    pub duplicates: Vec<DuplicateReport>,
    /// Values indexed for uniqueness.
    pub indexed_values: u64,
}

/// A pre-existing duplicate.
#[derive(Debug, Serialize)]
pub struct DuplicateReport {
    /// The value.
    pub value: String,
    /// First holder (DN, or file:record when unknown).
    pub first: String,
    /// Second holder.
    pub second: String,
}

struct Pass1 {
    held: Held,
    claim: Option<Claim>,
    eds: Option<Vec<u8>>,
    /// Set when pass 1 already knows everything pass 2 would say of the object.
    settled: Option<Settled>,
    /// Whether the item's bytes are the object's spool record (see [`Spool`]).
    spooled: bool,
    /// Whether the spool record holds what pass 2 reads of the object, so that pass 2 need
    /// not read its record again (see [`Engine::finish_reads`]).
    spooled_entry: bool,
}

/// Bytes of export per record assumed when reserving the per-record lists of pass 1: the
/// low end of what exports run at, so the room is rarely too small.
const RECORD_BYTES_HINT: u64 = 1024;

/// The batch size of `plan`'s passes over `bytes` of exports with `workers` threads: up to
/// 8 MiB, four times the pipeline's default, as long as every worker still gets 16 batches.
/// Pass 1's calling thread maps every window, holds every object's values and writes the
/// spool while the workers parse, and fewer, larger windows spend less of its time and the
/// kernel's on mapping and unmapping (1M-object export: pass 1 about 5% faster; peak RSS
/// about 20 MB more, next to the index's hundreds).
fn plan_batch_bytes(bytes: u64, workers: usize) -> usize {
    const MIN: usize = 2 << 20;
    const MAX: usize = 8 << 20;
    let per = bytes / (16 * workers.max(1) as u64);
    usize::try_from(per).unwrap_or(MAX).clamp(MIN, MAX)
}

/// Batches `plan`'s workers may read beyond one each
/// ([`InputOptions::batches_ahead`](crate::input::InputOptions::batches_ahead)):
/// pass 1's calling thread is now and then held up (mapping the input, writing the spool,
/// and until the index was made between the passes, growing its table: tens of
/// milliseconds at 1M objects, the last time); with two batches ahead the workers soon ran
/// out of work and waited while it was (1M-object export: `plan` 2.63 s against 2.73 s,
/// median of five alternating runs; peak RSS about 40 MB more; sixteen ahead gave 2.60 s
/// for 130 MB more).
const PLAN_BATCHES_AHEAD: usize = 6;

/// An object pass 2 need not stamp again: it claims nothing, so the allocation cannot change
/// it, and stamping it without an allocation changes nothing and warns of nothing (nor does
/// reading it). Pass 2 only counts it, by what pass 1 found.
#[derive(Clone, Copy)]
struct Settled {
    kind: Kind,
    in_scope: bool,
}

/// What pass 1 learns of an object that claims nothing: [`Settled`] when stamping it
/// changes nothing. Exchange Enterprise Servers groups are never settled here: their members
/// come from every domain's Exchange Domain Servers group, known only after pass 1.
fn settle(
    engine: &Engine<'_>,
    item: &Item,
    e: &crate::model::Entry,
    prepared: crate::exchange::stamp::Prepared<'_>,
) -> Option<Settled> {
    if !item.warnings.is_empty()
        || prepared.enabled_by.is_some()
        || recipient::well_known_group(e, "Exchange Enterprise Servers").is_some()
    {
        return None;
    }
    let (kind, in_scope) = (prepared.kind, prepared.in_scope);
    let finished = engine.finish(prepared, None);
    let p = &finished.prepared;
    let mut values = Vec::new();
    let unchanged =
        !finished.stamped || crate::plan::mod_refs(e, p.state.overrides(), &mut values).is_empty();
    (unchanged && p.warnings.is_empty()).then_some(Settled { kind, in_scope })
}

/// Runs `plan`.
pub fn run(args: &PlanArgs) -> Result<Outcome> {
    let common = Common::resolve(&args.input, &args.output, &args.run)?;
    let policy = Policy::load(&args.policy)?;
    let mut diag = Diagnostics::new(common.quiet, common.rejects.as_deref(), &common.write)?;
    for w in &policy.warnings {
        if !common.quiet {
            crate::note!("warning: {}: {w}", args.policy.display());
        }
        diag.warnings += 1;
    }
    let mut sources = sources_of(&args.exports)?;
    let index_sources = sources_of(&args.index)?;
    let mut names = HashSet::new();
    for s in sources.iter().chain(&index_sources) {
        if !names.insert(s.name.to_string()) {
            return Err(Error::Usage(format!("`{}` is given twice", s.name)));
        }
    }
    for s in &mut sources {
        s.spool()?;
    }
    // The exports are read twice, and pass 2 finds records by their offsets in pass 1: a file
    // that changes in between must stop the run.
    let prints = sources
        .iter()
        .map(crate::input::Source::fingerprint)
        .collect::<Result<Vec<_>>>()?;
    let unchanged = |sources: &[crate::input::Source]| -> Result<()> {
        for (s, before) in sources.iter().zip(&prints) {
            if s.fingerprint()? != *before {
                return Err(Error::Input(format!(
                    "{}: the file changed while plan was reading it (plan reads its exports twice; plan a copy that nothing writes to)",
                    s.name
                )));
            }
        }
        Ok(())
    };
    let scope_key = match &args.scope_base {
        Some(b) => Some(
            dn::normalize(b.as_bytes())
                .map_err(|e| Error::Usage(format!("--scope-base `{b}` is not a valid DN: {e}")))?,
        ),
        None => None,
    };
    let guid_seed = args.guid_seed.unwrap_or_else(|| {
        let b = uuid::Uuid::new_v4().into_bytes();
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) >> 1
    });
    let settings = EngineSettings {
        mode: match args.mode {
            crate::cli::ModeArg::NewOnly => Mode::NewOnly,
            crate::cli::ModeArg::ApplyPolicy => Mode::ApplyPolicy,
        },
        guid_seed,
        scope_key,
    };
    let pool = pipeline::pool(common.jobs)?;
    let alloc_settings = AllocSettings::of(&policy);
    let mut timings = Timings::start();

    // Pass 1: index held values, collect claims and the Exchange Domain Servers groups.
    let no_eds: Vec<Vec<u8>> = Vec::new();
    let engine1 = Engine {
        policy: &policy,
        settings: &settings,
        eds_groups: &no_eds,
    };
    // The values held, gathered in input order for the index to hold them all at once
    // (`Index::of_holds`) once both readings are over.
    let mut holds = Holds::default();
    let mut claims: Vec<Claim> = Vec::new();
    // What the allocation's serving order is sorted by, noted claim by claim.
    let mut turns = Turns::default();
    // The claims by the place of their record (the key pass 2 finds records by), noted in
    // input order: ready to be looked up once pass 1 ends.
    let mut claim_at: Places<u32> = Places::default();
    // Per pass-1 number: (file, offset, record number) of the record, the file as its
    // position in `files`.
    let files: Vec<&'static str> = sources.iter().map(|s| s.name).collect();
    let file_of = |name: &str| files.iter().position(|f| **f == *name).unwrap_or(0) as u32;
    let mut places: Vec<(u32, u64, u64)> = Vec::new();
    // Objects pass 2 only counts, by place (the key pass 2 finds records by).
    let mut settled: Places<Settled> = Places::default();
    // What pass 1 prepared of the objects that claim values, for pass 2 to finish.
    let mut spool = Spool::new()?;
    let (spool_notes, spool_sink) = spool.parts();
    // The per-record lists get room for a record per kilobyte of the exports (exports run at
    // one to three kilobytes a record; see `reserve_hint`).
    let records_of = |bytes: u64| usize::try_from(bytes / RECORD_BYTES_HINT).unwrap_or(0);
    // Settled objects pass 2 need not even read: those the next record of the same file
    // follows directly as an entry (so no ldifde follow-up record continues them), per file
    // in input order; `unread_last` is the (file, record number, first line) of the last one
    // added. Each with where the record after it starts and the newlines up to there, once
    // known.
    let mut unread_by_file: Vec<Vec<Skip>> = sources
        .iter()
        .map(|s| {
            let mut list = Vec::new();
            reserve_hint(&mut list, records_of(s.size().unwrap_or(0)));
            list
        })
        .collect();
    let mut unread_last: Option<(u32, u64, u64)> = None;
    let export_bytes: u64 = sources.iter().filter_map(|s| s.size()).sum();
    let records_hint = records_of(export_bytes);
    // Both passes read the exports in larger batches than the other commands (see
    // `plan_batch_bytes`).
    let mut input = common.input.clone();
    input.batch_bytes = plan_batch_bytes(export_bytes, pool.current_num_threads());
    input.batches_ahead = PLAN_BATCHES_AHEAD;
    reserve_hint(&mut claims, records_hint);
    holds.reserve_hint(records_hint);
    turns.reserve_hint(records_hint);
    claim_at.reserve_hint(records_hint);
    reserve_hint(&mut places, records_hint);
    settled.reserve_hint(records_hint);
    let mut eds_groups: Vec<Vec<u8>> = Vec::new();
    let mut eds_keys: HashSet<Vec<u8>> = HashSet::new();
    // What pass 2 reads of a claiming object; spooled with its preparation when the item
    // brings no warnings (pass 2 reports those as it reads the record).
    let finish_reads = engine1.finish_reads();
    let codec = SpoolCodec::new(&policy);
    let pass1 = |item: &Item, bytes: &mut Vec<u8>| -> Option<Pass1> {
        let Ok(Record::Entry(e)) = &item.result else {
            return None;
        };
        let prepared = engine1.prepare(e);
        let mut held = Held::default();
        Engine::held_into(e, &mut held);
        for p in prepared.promoted() {
            held.push(&[p]);
        }
        // The claim's keys are hashed here, on the workers, not in the allocation.
        let claim = prepared.claim(0).map(|mut c| {
            c.compute_keys(&alloc_settings);
            c.made_on = rayon::current_thread_index()
                .and_then(|i| u16::try_from(i).ok())
                .unwrap_or(u16::MAX);
            c
        });
        // A claiming object's preparation goes to the spool, for pass 2 to finish it without
        // preparing it again.
        let with_entry = finish_reads.as_ref().filter(|_| item.warnings.is_empty());
        let spooled = claim.is_some()
            && spool::put_parts(
                bytes,
                |out| prepared.spool(&codec, out),
                |out| {
                    if let Some(keep) = with_entry {
                        crate::model::flat::Put(out).entry(e, keep);
                    }
                },
            );
        let settled = match claim {
            None => settle(&engine1, item, e, prepared),
            Some(_) => None,
        };
        Some(Pass1 {
            held,
            claim,
            eds: recipient::well_known_group(e, "Exchange Domain Servers").map(|_| e.dn().to_vec()),
            settled,
            spooled,
            spooled_entry: spooled && with_entry.is_some(),
        })
    };
    let mut seq: u32 = 0;
    let mut add_eds = |eds: Option<Vec<u8>>, groups: &mut Vec<Vec<u8>>| {
        if let Some(d) = eds {
            if eds_keys.insert(dn::key_lossy(&d)) {
                groups.push(d);
            }
        }
    };
    // Pass 1 parses only what it reads of each entry, and reports nothing (pass 2 does): its
    // items need no copy of their DN.
    let mut input1 = input.clone();
    input1.parse.keep = engine1.pass1_reads().map(std::sync::Arc::new);
    input1.item_dn = false;
    let read1 = pipeline::run_results_writing(
        &sources,
        &input1,
        &pool,
        common.progress,
        &[],
        pass1,
        |item, out, bytes| {
            seq += 1;
            let file = file_of(item.location.file);
            places.push((file, item.location.offset, item.location.record));
            let is_entry = matches!(item.result, Ok(Record::Entry(_)));
            if let Some((f, r, line)) = unread_last.take() {
                if let Some(list) = unread_by_file.get_mut(f as usize) {
                    if f != file || item.location.record != r + 1 || !is_entry {
                        list.pop();
                    } else if let Some(skip) = list.last_mut() {
                        skip.next = item.location.offset;
                        skip.lines = item.location.line.saturating_sub(line);
                    }
                }
            }
            let Some(p) = out else {
                return Ok(false);
            };
            if let Some(s) = p.settled {
                settled.push((file, item.location.offset), s);
            }
            if p.settled.is_some() || p.spooled_entry {
                if let Some(list) = unread_by_file.get_mut(file as usize) {
                    list.push(Skip {
                        offset: item.location.offset,
                        ..Skip::default()
                    });
                    unread_last = Some((file, item.location.record, item.location.line));
                }
            }
            if p.spooled {
                spool_notes.note((file, item.location.offset), bytes.len());
            }
            holds.add(&p.held, seq);
            if let Some(mut c) = p.claim.take() {
                c.seq = seq;
                turns.note(&c);
                claim_at.push((file, item.location.offset), claims.len() as u32);
                claims.push(c);
            }
            add_eds(p.eds.take(), &mut eds_groups);
            // The spool record goes to the spool file.
            Ok(p.spooled)
        },
        |bytes| spool_sink.write(bytes),
    )?;
    spool.finish(pool.current_num_threads())?;
    if let Some((f, _, _)) = unread_last {
        if let Some(list) = unread_by_file.get_mut(f as usize) {
            list.pop();
        }
    }
    let mut index_diag = Diagnostics::new(true, None, &common.write)?;
    pipeline::run_results(
        &index_sources,
        &common.input,
        &pool,
        common.progress,
        |item: &Item, _: &mut Vec<u8>| {
            let Ok(Record::Entry(e)) = &item.result else {
                return None;
            };
            let mut held = Held::default();
            Engine::held_into(e, &mut held);
            for v in e.values("msRTCSIP-PrimaryUserAddress") {
                held.push(&["sipuri:", &crate::model::lossy(v)]);
            }
            Some((
                held,
                recipient::well_known_group(e, "Exchange Domain Servers").map(|_| e.dn().to_vec()),
            ))
        },
        |item, out, _| {
            index_diag.handle_non_record(item)?;
            if let Some((held, eds)) = out {
                holds.add(held, INDEX_OWNER);
                add_eds(eds.take(), &mut eds_groups);
            }
            Ok(())
        },
    )?;
    timings.pass1(&read1);
    if index_diag.rejected > 0 && !common.quiet {
        crate::note!(
            "warning: {} record(s) of the --index files could not be read and reserve nothing",
            index_diag.rejected
        );
    }

    // Allocation: one deterministic pass.
    let threads = pool.current_num_threads();
    let mut sorted = None;
    // Room for every value the allocation can give, made with the values held.
    let choices = turns.choices();
    // The serving order is sorted on the pool, and what pass 2 looks records up in made
    // ready, while the values pass 1 gathered are held.
    let (dup_seqs, mut index) = pool.in_place_scope(|scope| {
        let (claims, sorted, turns) = (&claims, &mut sorted, turns);
        scope.spawn(move |_| *sorted = Some(Decisions::new(claims, turns)));
        let (claim_at, settled) = (&mut claim_at, &mut settled);
        scope.spawn(move |_| {
            // Looked up by place for every record of pass 2.
            claim_at.share(threads);
            settled.share(threads);
        });
        let index = pool.install(|| Index::of_holds(holds, choices));
        // The duplicates are all known (only holding values finds them). Pass 2 consumes
        // the records in pass 1's order, so it numbers them the same way. Looked up for
        // every record of pass 2: an integer hash, not SipHash.
        let dup_seqs: IntMap<u32, ()> = index
            .duplicates
            .iter()
            .flat_map(|d| [(d.first, ()), (d.second, ())])
            .collect();
        // Pass 2 reads every object whose DN the duplicate report needs.
        let mut read_again: Vec<(u32, u64)> = dup_seqs
            .keys()
            .filter_map(|s| places.get((*s as usize).checked_sub(1)?))
            .map(|&(file, offset, _)| (file, offset))
            .collect();
        read_again.sort_unstable();
        for (file, list) in unread_by_file.iter_mut().enumerate() {
            let from = read_again.partition_point(|p| (p.0 as usize) < file);
            let to = read_again.partition_point(|p| (p.0 as usize) <= file);
            if let Some(offsets) = read_again.get(from..to).filter(|o| !o.is_empty()) {
                list.retain(|s| offsets.binary_search(&(file as u32, s.offset)).is_err());
            }
        }
        (dup_seqs, index)
    });
    let indexed_values = index.len() as u64;
    let decisions =
        sorted.ok_or_else(|| crate::error::Error::Input("the allocation did not start".into()))?;
    timings.allocated(claims.len());

    // Pass 2: stamp and write.
    unchanged(&sources)?;
    let engine = Engine {
        policy: &policy,
        settings: &settings,
        eds_groups: &eds_groups,
    };
    let mut out = Output::open(common.output.as_deref())?;
    let mut head = Vec::new();
    Writer::new(common.write.clone()).header(&mut head);
    out.write_all(&head)?;
    let mut summary = Summary {
        guid_seed,
        mode: match settings.mode {
            Mode::NewOnly => "new-only".into(),
            Mode::ApplyPolicy => "apply-policy".into(),
        },
        indexed_values,
        ..Summary::default()
    };
    let mut dup_dns: HashMap<u32, String> = HashMap::new();
    // Counted on the consumer thread for every change: the attributes the engine stamps by
    // their place among them, any other in a short list searched by the names' addresses
    // (the engine's constants) before their text, not a SipHash map.
    let mut stamped_counts = [0u64; StampedSet::LEN];
    let mut by_attribute: Vec<(&'static str, u64)> = Vec::new();
    let mut seq2: u32 = 0;
    let mut kinds = [0u64; Kind::ALL.len()];
    // Objects mail-enabled, by rule (named in the summary once pass 2 is over).
    let mut enabled: BTreeMap<EnabledBy, u64> = BTreeMap::new();
    let wopts = common.write.clone();
    // Whether a warning made now could still be printed: once it cannot (`-q`, or enough
    // printed), the workers count the allocation's warnings instead of writing them. The
    // consumer prints the first warnings in input order and a worker runs ahead of it, so a
    // warning left unwritten is never one that would have been printed.
    let tell = AtomicBool::new(diag.prints_warnings());
    let stamp = |item: &Item, bytes: &mut Vec<u8>| -> Option<Stamped> {
        let Ok(Record::Entry(e)) = &item.result else {
            return None;
        };
        let place = (file_of(item.location.file), item.location.offset);
        if let Some(s) = settled.get(place) {
            return Some(Stamped::counted(s.kind, s.in_scope));
        }
        let unread = item.is_unread();
        // Finishes and writes the object, once prepared.
        let done = |prepared: Prepared<'_>, bytes: &mut Vec<u8>| -> Stamped {
            // The entry stamped: the spooled one when the record was not read.
            let e = prepared.state.entry();
            let claim = claim_at.get(place).map(|i| *i as usize);
            // The allocation may still be serving the claims: this one's turn must have come.
            if claim.is_some_and(|i| !decisions.wait(i)) {
                return Stamped::failed(Error::Input("the allocation stopped".into()));
            }
            let alloc = claim.and_then(|i| {
                let tell = tell.load(Ordering::Relaxed);
                prepared.allocation(&decisions, i, &alloc_settings, tell)
            });
            let mut finished = engine.finish(prepared, alloc);
            let p = &mut finished.prepared;
            let before = bytes.len();
            let mut attrs = StampedSet::default();
            let mut other_attrs: Vec<&'static str> = Vec::new();
            if finished.stamped {
                let desired = p.state.overrides();
                let mut mod_values = Vec::new();
                let mods = crate::plan::mod_refs(e, desired, &mut mod_values);
                if !mods.is_empty() {
                    // Counted under the name the engine stamps (a modification is written with
                    // the entry's own spelling of it): as bits, with no list to allocate.
                    for (_, name) in &mods {
                        if !attrs.insert(**name) && !other_attrs.contains(&name.as_str()) {
                            other_attrs.push(name.as_str());
                        }
                    }
                    Writer::new(wopts.clone()).modify(bytes, e.dn(), mods.iter().map(|(m, _)| m));
                }
            }
            let warnings = std::mem::take(&mut p.warnings);
            let untold = finished.untold;
            Stamped {
                changed: bytes.len() > before,
                // The record was not read: the warnings name the object by the spooled DN.
                dn: (unread && !warnings.is_empty()).then(|| e.dn_lossy().into()),
                attrs,
                other_attrs,
                kind: p.kind,
                in_scope: p.in_scope,
                enabled_by: p.enabled_by.take(),
                policy: p.policy,
                warnings,
                untold,
                failed: None,
            }
        };
        // A claiming object was prepared by pass 1 and spooled, and what this pass reads of
        // it too when its record was not read again: one read of the spool serves both. The
        // preparation borrows the spooled record, which stays where it was read while the
        // object is finished.
        let codec = &codec;
        let read = spool.read(place, |rec| {
            let (first, second) = spool::parts(rec)?;
            let mut spooled = None;
            let e = if unread {
                let mut t = crate::model::flat::Take(second);
                &*spooled.insert(t.entry().ok().filter(|_| t.is_empty())?)
            } else {
                e
            };
            let prepared = Prepared::unspool(codec, e, first).ok()?;
            let stamped = done(prepared, &mut *bytes);
            // Its buffers serve the next spooled entry this thread rebuilds.
            if let Some(entry) = spooled {
                entry.recycle();
            }
            Some(stamped)
        });
        Some(match read {
            Ok(Some(Some(stamped))) => stamped,
            Ok(None) if !unread => done(engine.prepare(e), bytes),
            Ok(_) => Stamped::failed(spool::damaged()),
            Err(err) => Stamped::failed(err),
        })
    };
    // The allocation serves the claims on a thread of its own (not the pool's, whose threads
    // may wait for it) while pass 2 runs: a record waits only for a claim served later than
    // those before it, and the allocation, which uses one core, no longer leaves the other
    // idle. Which values a claim gets does not depend on when pass 2 reads them.
    let (stats, served) = std::thread::scope(|threads| -> Result<_> {
        let server = threads.spawn(|| {
            decisions.serve(&mut index, &claims, &alloc_settings);
            let served = std::time::Instant::now();
            // Freeing the claims (hundreds of thousands of small allocations, made on the
            // pool's threads) overlaps pass 2. Each pool thread frees the claims it made,
            // between its batches: the allocator frees a block of the freeing thread's own
            // heap without atomic operations, and one of another thread's heap with them,
            // to be collected later by its owner (on a thread of their own, freeing them
            // took a tenth of a second of CPU at 1M).
            free_claims_where_made(&pool, claims);
            index.release_values();
            served
        });
        let stats = pipeline::run_results_writing(
            &sources,
            &input,
            &pool,
            common.progress,
            &unread_by_file,
            stamp,
            |item, st, _| {
                seq2 += 1;
                diag.warnings_of(item);
                if diag.handle_non_record(item)? {
                    return Ok(false);
                }
                let Some(st) = st else {
                    diag.reject(
                        &item.location,
                        "plan reads exports of entries; this is a change record",
                        None,
                    )?;
                    return Ok(false);
                };
                if let Some(err) = st.failed.take() {
                    return Err(err);
                }
                if dup_seqs.contains_key(&seq2) {
                    dup_dns.insert(seq2, item.location.dn.clone().unwrap_or_default());
                }
                if !st.warnings.is_empty() {
                    let mut at = item.location.clone();
                    if at.dn.is_none() {
                        at.dn = st.dn.take();
                    }
                    for w in &st.warnings {
                        diag.warning(&at, 0, w);
                    }
                    if !diag.prints_warnings() {
                        tell.store(false, Ordering::Relaxed);
                    }
                }
                diag.warnings += u64::from(st.untold);
                if !st.in_scope {
                    summary.out_of_scope += 1;
                }
                if let Some(i) = Kind::ALL.iter().position(|k| *k == st.kind) {
                    kinds[i] += 1;
                }
                if let Some(r) = st.enabled_by {
                    *enabled.entry(r).or_default() += 1;
                }
                if !st.changed {
                    summary.unchanged += 1;
                    return Ok(false);
                }
                summary.changed += 1;
                for i in st.attrs.places() {
                    if let Some(n) = stamped_counts.get_mut(i) {
                        *n += 1;
                    }
                }
                for a in &st.other_attrs {
                    count_attribute(&mut by_attribute, a);
                }
                let pname = st
                    .policy
                    .map_or("(none)", |i| policy.recipient_policies[i].name.as_str());
                bump(&mut summary.changes_by_policy, pname);
                Ok(true)
            },
            |bytes| out.write_all(bytes),
        );
        let served = server
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Ok((stats?, served))
    })?;
    timings.served(served);
    for (k, n) in Kind::ALL.iter().zip(kinds) {
        summary.kinds.insert(k.label().to_string(), n);
    }
    for (r, n) in enabled {
        *summary.enabled_by_rule.entry(r.to_string()).or_default() += n;
    }
    let stamped = stamped_counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .filter_map(|(i, n)| Some((StampedSet::name(i)?, *n)));
    for (a, n) in stamped.chain(by_attribute) {
        *summary
            .changes_by_attribute
            .entry(a.to_string())
            .or_default() += n;
    }
    unchanged(&sources)?;
    out.commit()?;
    timings.pass2();
    for d in &index.duplicates {
        let name = |s: u32| {
            if s == INDEX_OWNER {
                return "an --index file".to_string();
            }
            dup_dns.get(&s).cloned().unwrap_or_else(|| {
                places
                    .get(s as usize - 1)
                    .map(|k| {
                        let file = files.get(k.0 as usize).map_or("", |f| &**f);
                        format!("{file}: record {}", k.2)
                    })
                    .unwrap_or_default()
            })
        };
        let report = DuplicateReport {
            value: d.value.clone(),
            first: name(d.first),
            second: name(d.second),
        };
        diag.warning(
            &crate::error::Location {
                file: "uniqueness",
                ..Default::default()
            },
            0,
            &format!(
                "`{}` is held by both `{}` and `{}` in the input; reported, not changed",
                report.value, report.first, report.second
            ),
        );
        summary.duplicates.push(report);
    }
    summary.records = stats.records;
    summary.rejected = diag.rejected;
    summary.skipped = diag.skipped;
    summary.warnings = diag.warnings;
    if let Some(path) = &args.summary {
        let mut s = Output::open(Some(path))?;
        let json = serde_json::to_vec_pretty(&summary).map_err(|e| Error::Input(e.to_string()))?;
        s.write_all(&json)?;
        s.write_all(b"\n")?;
        s.commit()?;
    }
    if !common.quiet {
        print_summary(&summary, &policy);
    }
    if args.timings {
        crate::note!("{}", timings.line());
    }
    diag.finish()
}

/// Wall time of `plan`'s phases (`--timings`).
struct Timings {
    start: std::time::Instant,
    /// Pass 1 (reading the exports, then the `--index` files): its end, bytes and records.
    pass1: Option<(std::time::Duration, ReadStats)>,
    /// The allocation's end (its serving order sorted, pass 2 about to start) and the number
    /// of claims it serves.
    allocated: Option<(std::time::Duration, usize)>,
    /// When the allocation had served every claim (during pass 2).
    served: Option<std::time::Duration>,
    /// Pass 2's end (the plan written and committed).
    pass2: Option<std::time::Duration>,
}

impl Timings {
    fn start() -> Timings {
        Timings {
            start: std::time::Instant::now(),
            pass1: None,
            allocated: None,
            served: None,
            pass2: None,
        }
    }

    fn pass1(&mut self, read: &ReadStats) {
        self.pass1 = Some((self.start.elapsed(), read.clone()));
    }

    fn allocated(&mut self, claims: usize) {
        self.allocated = Some((self.start.elapsed(), claims));
    }

    fn served(&mut self, at: std::time::Instant) {
        self.served = Some(at.saturating_duration_since(self.start));
    }

    fn pass2(&mut self) {
        self.pass2 = Some(self.start.elapsed());
    }

    /// One line: each phase's seconds and what it handled.
    fn line(&self) -> String {
        let secs = |d: std::time::Duration| format!("{:.2} s", d.as_secs_f64());
        let zero = std::time::Duration::ZERO;
        let p1 = self.pass1.as_ref().map_or(zero, |(d, _)| *d);
        let al = self.allocated.map_or(p1, |(d, _)| d);
        let p2 = self.pass2.unwrap_or(al);
        let (bytes, records) = self
            .pass1
            .as_ref()
            .map_or((0, 0), |(_, r)| (r.bytes, r.records));
        format!(
            "ldifstamp plan: timings: pass 1 {} ({records} records, {:.1} MB), allocation {} ({} claims, all served {} into pass 2), pass 2 {}, total {}",
            secs(p1),
            bytes as f64 / 1e6,
            secs(al.saturating_sub(p1)),
            self.allocated.map_or(0, |(_, c)| c),
            secs(self.served.unwrap_or(al).saturating_sub(al)),
            secs(p2.saturating_sub(al)),
            secs(self.start.elapsed()),
        )
    }
}

struct Stamped {
    /// Whether a change record was written.
    changed: bool,
    /// The object's DN, for its warnings, when its record was not read.
    dn: Option<String>,
    /// The attributes its change record changes: those the engine stamps (all of them, as
    /// it works), and any other.
    attrs: StampedSet,
    other_attrs: Vec<&'static str>,
    kind: Kind,
    in_scope: bool,
    enabled_by: Option<EnabledBy>,
    /// Index of the recipient policy that applies.
    policy: Option<usize>,
    warnings: Vec<String>,
    /// Warnings counted but not written out (the allocation's, once none can be printed).
    untold: u32,
    /// Why the object's spool record could not be used.
    failed: Option<Error>,
}

impl Stamped {
    /// An object counted, not stamped.
    fn counted(kind: Kind, in_scope: bool) -> Stamped {
        Stamped {
            changed: false,
            dn: None,
            attrs: StampedSet::default(),
            other_attrs: Vec::new(),
            kind,
            in_scope,
            enabled_by: None,
            policy: None,
            warnings: Vec::new(),
            untold: 0,
            failed: None,
        }
    }

    /// An object whose spool record could not be used.
    fn failed(err: Error) -> Stamped {
        Stamped {
            failed: Some(err),
            ..Stamped::counted(Kind::NonRecipient, false)
        }
    }
}

/// Frees `claims` as [`run`] describes: one pool thread sorts them by the thread that made
/// them, then each pool thread frees its own when it next looks for work. Returns at once.
fn free_claims_where_made(pool: &rayon::ThreadPool, claims: Vec<Claim>) {
    let threads = pool.current_num_threads();
    pool.spawn(move || {
        // Index `threads`: claims made on a thread outside the pool.
        let mut counts = vec![0usize; threads + 1];
        for c in &claims {
            counts[usize::from(c.made_on).min(threads)] += 1;
        }
        let mut by_thread: Vec<Vec<Claim>> =
            counts.iter().map(|&n| Vec::with_capacity(n)).collect();
        for c in claims {
            if let Some(list) = by_thread.get_mut(usize::from(c.made_on).min(threads)) {
                list.push(c);
            }
        }
        drop(by_thread.pop());
        let lists: Vec<std::sync::Mutex<Vec<Claim>>> =
            by_thread.into_iter().map(std::sync::Mutex::new).collect();
        // Called on a pool thread: every thread of this pool (not of rayon's global pool).
        rayon::spawn_broadcast(move |ctx| {
            if let Some(Ok(mut list)) = lists.get(ctx.index()).map(|l| l.lock()) {
                drop(std::mem::take(&mut *list));
            }
        });
    });
}

/// Adds one to the count of `name` in `counts`: found by address (the engine stamps its
/// names from constants) or, failing that, by text.
fn count_attribute(counts: &mut Vec<(&'static str, u64)>, name: &'static str) {
    let same = |k: &&str| std::ptr::eq(k.as_ptr(), name.as_ptr()) && k.len() == name.len();
    let at = match counts.iter().position(|(k, _)| same(k)) {
        Some(i) => Some(i),
        None => counts.iter().position(|(k, _)| *k == name),
    };
    match at {
        Some(i) => counts[i].1 += 1,
        None => counts.push((name, 1)),
    }
}

/// Adds one to `map[key]`, allocating the key only the first time.
fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

fn print_summary(s: &Summary, policy: &Policy) {
    let mut out = String::new();
    out.push_str(&format!(
        "ldifstamp plan: {} records: {} changed, {} unchanged, {} rejected, {} skipped{}\n",
        s.records,
        s.changed,
        s.unchanged,
        s.rejected,
        s.skipped,
        if s.out_of_scope > 0 {
            format!(" ({} outside --scope-base, indexed only)", s.out_of_scope)
        } else {
            String::new()
        }
    ));
    out.push_str(&format!(
        "  organization {} · mode {} · msExchMailboxGuid seed {}\n",
        policy.org.name, s.mode, s.guid_seed
    ));
    out.push_str("  objects:");
    if s.kinds.values().all(|n| *n == 0) {
        out.push_str(" none,");
    }
    for k in Kind::ALL {
        let n = s.kinds.get(k.label()).copied().unwrap_or(0);
        if n > 0 {
            out.push_str(&format!(" {n} {},", k.label()));
        }
    }
    out.pop();
    out.push('\n');
    if !s.enabled_by_rule.is_empty() {
        out.push_str("  mail-enabled by rule:");
        for (r, n) in &s.enabled_by_rule {
            out.push_str(&format!(" {r} {n},"));
        }
        out.pop();
        out.push('\n');
    }
    if !s.changes_by_attribute.is_empty() {
        out.push_str("  changes by attribute:\n");
        for (a, n) in &s.changes_by_attribute {
            out.push_str(&format!("    {a:<28} {n:>8}\n"));
        }
    }
    if !s.changes_by_policy.is_empty() {
        out.push_str("  changed objects by recipient policy:\n");
        for (p, n) in &s.changes_by_policy {
            out.push_str(&format!("    {p:<28} {n:>8}\n"));
        }
    }
    out.push_str(&format!(
        "  {} warning(s), {} pre-existing duplicate value(s), {} values indexed for uniqueness\n",
        s.warnings,
        s.duplicates.len(),
        s.indexed_values
    ));
    let _ = std::io::Write::write_all(&mut std::io::stderr(), out.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_batches_grow_with_the_exports_up_to_8_mib() {
        const MIB: u64 = 1 << 20;
        // Small exports keep the pipeline's 2 MiB, so that every worker has batches to take.
        assert_eq!(plan_batch_bytes(0, 2), 2 << 20);
        assert_eq!(plan_batch_bytes(20 * MIB, 2), 2 << 20);
        // In between: sixteen batches a worker.
        assert_eq!(plan_batch_bytes(192 * MIB, 2), 6 << 20);
        assert_eq!(plan_batch_bytes(192 * MIB, 4), 3 << 20);
        // Large exports: 8 MiB.
        assert_eq!(plan_batch_bytes(2048 * MIB, 2), 8 << 20);
        assert_eq!(plan_batch_bytes(u64::MAX, 0), 8 << 20);
    }
}
