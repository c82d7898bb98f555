//! Fuzzing every operation of the served OpenAPI document against a real
//! server seeded with real objects: seeded (`BATON_FUZZ_SEED` to replay),
//! bounded in requests and time. Each operation gets valid-ish requests
//! built from its schemas and broken ones, as an administrator and as a
//! plain member; each answer must be below 500, documented for the
//! operation, of the documented media type, and fit the documented schema.
//!
//! # Layout
//! - `generate.rs`: the PRNG and values from schemas.
//! - `cases.rs`: requests, valid and broken.
//! - `check.rs`: sending them and judging the answers.
//! - `seed.rs`: the objects fuzzed requests aim at.

mod cases;
mod check;
mod generate;
mod seed;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use cases::{Builder, MUTATIONS, Mutation};
use check::{Judge, send};
use generate::{Generator, Rng};

use crate::support::openapi::{Document, Operation};
use crate::support::{Server, ServerSetup, copy_dir, example_bots};

const DEFAULT_SEED: u64 = 0xBA70_2026_1125;
/// Past this, the run stops where it is (and says so): the requests are
/// bounded anyway, this bounds a slow machine.
const BUDGET: Duration = Duration::from_secs(40);
/// Extra valid-ish requests per operation and caller, after one of each
/// mutation.
const EXTRA_VALID: usize = 3;
/// Passes over every operation (about 900 requests each).
const ROUNDS: usize = 4;

fn seed() -> u64 {
    std::env::var("BATON_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// The requests of one operation, in order.
fn plan(rng: &mut Rng, op: &Operation) -> Vec<(Mutation, &'static str)> {
    let mut plan = Vec::new();
    for who in ["admin", "member"] {
        for m in MUTATIONS.iter().copied().filter(|m| m.applies(op)) {
            plan.push((m, who));
        }
        plan.extend((0..EXTRA_VALID).map(|_| (Mutation::Valid, who)));
    }
    plan.push((*rng.pick(&[Mutation::Valid, Mutation::Example]), "outsider"));
    plan
}

/// What a run saw, per operation.
#[derive(Default)]
struct Tally {
    sent: usize,
    statuses: BTreeMap<String, BTreeSet<u16>>,
    failures: Vec<String>,
}

#[tokio::test]
async fn every_operation_answers_as_documented_whatever_it_is_sent() {
    let seed = seed();
    let mut setup = ServerSetup::default();
    setup.engine.push_str("retention_every_ms = 50\n");
    // A webhook nobody listens to, tried once: its deliveries fail at once,
    // so that resending one has something to resend.
    setup.tables = "[delivery]\npoll_interval_ms = 20\nmax_attempts = 1\n\n\
                    [[delivery.webhooks]]\nname = \"nowhere\"\nmetaservice = \"wca\"\n\
                    url = \"http://127.0.0.1:9/hook\"\nsecret = \"fuzzing-secret-0123456789\"\n"
        .into();
    let mut server = Server::start_with(setup, |bots| copy_dir(&example_bots(), bots)).await;
    let seeded = seed::seed(&mut server).await;
    let doc = Document::fetch(&server).await;
    let hints = seeded.hints();
    let builder = Builder {
        generator: Generator {
            doc: &doc,
            hints: &hints,
        },
        seeded: &seeded,
    };
    let mut judge = Judge::new(&doc);
    let mut rng = Rng::new(seed);
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tally = Tally::default();
    // Every request and its status, for reading what the fuzzer does.
    let verbose = std::env::var("BATON_FUZZ_VERBOSE").is_ok();
    let operations = doc.operations();
    let plans = (0..ROUNDS).flat_map(|_| operations.iter());
    'run: for op in plans {
        for (mutation, who) in plan(&mut rng, op) {
            if started.elapsed() > BUDGET {
                eprintln!("fuzz: time budget spent after {} requests", tally.sent);
                break 'run;
            }
            let request = builder.build(&mut rng, op, mutation, who);
            tally.sent += 1;
            let verdict = match send(&client, &server.base, &request).await {
                Ok(answer) => {
                    if verbose {
                        eprintln!("{} {} <- {request}", answer.status, op.id());
                    }
                    tally
                        .statuses
                        .entry(op.id().to_string())
                        .or_default()
                        .insert(answer.status);
                    judge.judge(op, &answer)
                }
                Err(e) => Some(e),
            };
            if let Some(why) = verdict {
                tally.failures.push(format!(
                    "{} ({} {}): {why}\n  {request}",
                    op.id(),
                    op.method,
                    op.path
                ));
            }
        }
    }
    report(seed, &server, &tally, started.elapsed());
    limits_are_enforced_as_documented(&server, &doc).await;
}

fn report(seed: u64, server: &Server, tally: &Tally, took: Duration) {
    eprintln!(
        "fuzz: seed {seed}: {} requests in {took:.1?}; statuses per operation:",
        tally.sent
    );
    for (id, statuses) in &tally.statuses {
        eprintln!("  {id}: {statuses:?}");
    }
    if tally.failures.is_empty() {
        // Valid-ish requests aimed at real objects mostly succeed: if they
        // do not, the fuzzer only tests refusals. (Some operations may need
        // a state the run never reaches.)
        let never_ok: Vec<&String> = tally
            .statuses
            .iter()
            .filter(|(_, s)| !s.iter().any(|c| (200..300).contains(c)))
            .map(|(id, _)| id)
            .collect();
        eprintln!("fuzz: never succeeded: {never_ok:?}");
        assert!(
            never_ok.len() * 10 <= tally.statuses.len(),
            "fuzz: no request of {never_ok:?} succeeded: the seeding misses them"
        );
        return;
    }
    let shown: Vec<&String> = tally.failures.iter().take(30).collect();
    panic!(
        "fuzz (seed {seed}, BASE = {}): {} of {} requests broke the document's promises \
         (replay with BATON_FUZZ_SEED={seed}):\n{}",
        server.base,
        tally.failures.len(),
        tally.sent,
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Every documented `limit` takes its bounds and nothing past them.
async fn limits_are_enforced_as_documented(server: &Server, doc: &Document) {
    for op in doc.operations() {
        let Some(limit) = op
            .parameters("query")
            .into_iter()
            .find(|p| p["name"] == "limit")
        else {
            continue;
        };
        let (min, max) = (&limit["schema"]["minimum"], &limit["schema"]["maximum"]);
        let (Some(min), Some(max)) = (min.as_i64(), max.as_i64()) else {
            panic!("{}: limit has no bounds: {limit}", op.id());
        };
        for (value, ok) in [(min, true), (max, true), (min - 1, false), (max + 1, false)] {
            let path = format!("/api/v1{}?limit={value}", op.path);
            let (status, body) = server.get(&path).await;
            assert_eq!(status.is_success(), ok, "{path}: {status} {body}");
        }
    }
}
