//! `dbsage health` through the binary: exit codes as monitoring plugins expect, the JSON
//! shape, the Prometheus exposition format (checked by a parser written here), `--watch`
//! rounds, and `[alerts] webhook` posts received by a local HTTP server.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::webhook::webhook_server;
use common::{stdout, TestProject};

fn plant_sequence_at_95_percent(project: &TestProject) {
    project
        .client()
        .batch_execute(
            "CREATE SEQUENCE ticket_no AS integer; SELECT setval('ticket_no', 2040109466);",
        )
        .unwrap();
}

#[test]
fn a_healthy_database_exits_0_and_the_json_shape_is_stable() {
    let project = TestProject::new();
    let out = project.run(&["health"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("ok       sequences"), "{text}");
    assert!(text.ends_with("postgres: ok (exit 0)\n"), "{text}");

    let (json, code) = project.json(&["health"]);
    assert_eq!(code, 0);
    let keys: BTreeSet<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["environment", "database", "status", "exit_code", "checks"])
    );
    assert_eq!(json["status"], "ok");
    assert_eq!(json["environment"], "test");
    let check = &json["checks"][0];
    let keys: BTreeSet<&str> = check
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["check", "status", "message", "findings", "metrics"])
    );
    let names: Vec<&str> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 14);
    assert!(names.contains(&"blocking") && names.contains(&"replication_slots"));
}

#[test]
fn a_critical_check_exits_2_and_a_config_error_exits_3() {
    let project = TestProject::new();
    plant_sequence_at_95_percent(&project);
    let (json, code) = project.json(&["health"]);
    assert_eq!(code, 2);
    assert_eq!(json["status"], "critical");
    let sequences = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "sequences")
        .unwrap();
    let finding = &sequences["findings"][0];
    assert_eq!(finding["check"], "sequence-near-limit");
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["object"], "sequence public.ticket_no");

    // Warning when the thresholds say 95 % is only a warning.
    std::fs::OpenOptions::new()
        .append(true)
        .open(project.root().join("dbsage.toml"))
        .unwrap()
        .write_all(b"\n[health.sequences]\nwarning_percent = 90\ncritical_percent = 99\n")
        .unwrap();
    let out = project.run(&["health"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("warning[sequence-near-limit] sequence public.ticket_no"));

    // A misspelt threshold is unknown (3), not dbsage's usual usage code 2 (= critical here).
    std::fs::OpenOptions::new()
        .append(true)
        .open(project.root().join("dbsage.toml"))
        .unwrap()
        .write_all(b"\n[health.blocking]\nwarn_seconds = 5\n")
        .unwrap();
    let out = project.run(&["health"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        common::stderr(&out).contains("warn_seconds"),
        "{}",
        common::stderr(&out)
    );
}

/// A sample line: `name{k="v",…} value`, parsed strictly as the text exposition format.
fn parse_sample(line: &str) -> Result<(String, BTreeMap<String, String>, f64), String> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .ok_or("no value")?;
    let name = &line[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("bad metric name in {line}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        let end;
        loop {
            // label name
            let start = chars.peek().ok_or("unterminated labels")?.0;
            if after[start..].starts_with('}') {
                end = start + 1;
                break;
            }
            let eq = after[start..].find('=').ok_or("label without =")? + start;
            let key = &after[start..eq];
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("bad label name {key:?}"));
            }
            while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                chars.next();
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err("label value not quoted".into());
            }
            let mut value = String::new();
            loop {
                match chars.next().ok_or("unterminated label value")?.1 {
                    '\\' => match chars.next().ok_or("dangling escape")?.1 {
                        'n' => value.push('\n'),
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        c => return Err(format!("bad escape \\{c}")),
                    },
                    '"' => break,
                    '\n' => return Err("raw newline in a label value".into()),
                    c => value.push(c),
                }
            }
            if labels.insert(key.to_string(), value).is_some() {
                return Err(format!("label {key} twice"));
            }
            match chars.next().ok_or("unterminated labels")? {
                (_, ',') => continue,
                (i, '}') => {
                    end = i + 1;
                    break;
                }
                (_, c) => return Err(format!("unexpected {c:?} after a label")),
            }
        }
        rest = &after[end..];
    }
    let value = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let value: f64 = match value {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().map_err(|_| format!("bad value {v:?}"))?,
    };
    Ok((name.to_string(), labels, value))
}

/// Every metric family: HELP and TYPE once each, before its samples, samples contiguous, no
/// duplicate series. Returns the samples.
fn parse_exposition(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = BTreeSet::new();
    let mut finished = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut series = BTreeSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name, arg) = (parts.next().unwrap(), parts.next().unwrap(), parts.next());
            match kind {
                "HELP" => assert!(helped.insert(name.to_string()), "HELP twice for {name}"),
                "TYPE" => {
                    assert_eq!(arg, Some("gauge"), "{line}");
                    assert!(
                        typed.insert(name.to_string(), "gauge".into()).is_none(),
                        "TYPE twice: {name}"
                    );
                }
                _ => panic!("unknown comment line {line}"),
            }
            if current.as_deref() != Some(name) {
                if let Some(previous) = current.replace(name.to_string()) {
                    finished.insert(previous);
                }
            }
            assert!(!finished.contains(name), "family {name} split");
            continue;
        }
        let (name, labels, value) = parse_sample(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(typed.contains_key(&name), "sample before its TYPE: {line}");
        assert_eq!(
            current.as_deref(),
            Some(name.as_str()),
            "family {name} not contiguous"
        );
        assert!(
            series.insert((name.clone(), labels.clone())),
            "duplicate series {line}"
        );
        samples.push((name, labels, value));
    }
    samples
}

#[test]
fn prometheus_output_is_valid_exposition_text_with_statuses_and_gauges() {
    let project = TestProject::new();
    plant_sequence_at_95_percent(&project);
    project
        .client()
        .batch_execute("CREATE SEQUENCE \"odd \"\"name\"\"\\\" AS integer; SELECT setval('\"odd \"\"name\"\"\\\"', 10)")
        .unwrap();
    let out = project.run(&["health", "--format", "prometheus"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    let samples = parse_exposition(&text);
    let value = |name: &str, labels: &[(&str, &str)]| {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.2)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
    };
    assert_eq!(
        value(
            "dbsage_health_status",
            &[("check", "sequences"), ("database", "postgres")]
        ),
        2.0
    );
    assert_eq!(value("dbsage_health_status", &[("check", "blocking")]), 0.0);
    assert_eq!(value("dbsage_health_overall_status", &[]), 2.0);
    let used = value(
        "dbsage_health_sequence_used_ratio",
        &[("sequence", "public.ticket_no")],
    );
    assert!((used - 0.95).abs() < 1e-6, "{used}");
    // A label value with a quote and a backslash survives the round trip.
    value(
        "dbsage_health_sequence_used_ratio",
        &[("sequence", "public.odd \"name\"\\")],
    );
    assert!(value("dbsage_health_database_size_bytes", &[]) > 1_000_000.0);
    assert!(value("dbsage_health_connections_max", &[]) > 0.0);
    assert!(samples.iter().all(|(_, l, _)| l.get("database").is_some()));
    assert!(!text.contains(project.cluster.password()));
}

#[test]
fn watch_runs_round_after_round_until_stopped() {
    let project = TestProject::new();
    let mut child = project
        .cmd()
        .args(["health", "--watch", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let (mut headers, mut verdicts) = (0, 0);
    while verdicts < 2 {
        let left = Duration::from_secs(60).saturating_sub(start.elapsed());
        let line = rx.recv_timeout(left).expect("two rounds within 60 s");
        if line.starts_with("dbsage health --watch 1: ") {
            headers += 1;
        }
        if line == "postgres: ok (exit 0)" {
            verdicts += 1;
        }
    }
    assert!(headers >= 2);
    assert!(child.try_wait().unwrap().is_none(), "still watching");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn the_webhook_gets_exactly_one_post_per_state_change_and_never_the_password() {
    let (url, bodies) = webhook_server();
    let project = TestProject::with_config("\n[alerts]\nwebhook = \"${ALERT_WEBHOOK_URL}\"\n");
    let health = || {
        project
            .cmd()
            .env("ALERT_WEBHOOK_URL", &url)
            .args(["health"])
            .output()
            .unwrap()
    };
    // Healthy from the start: nothing to say.
    assert_eq!(health().status.code(), Some(0));
    assert!(bodies.lock().unwrap().is_empty());

    plant_sequence_at_95_percent(&project);
    let out = health();
    assert_eq!(out.status.code(), Some(2));
    {
        let posted = bodies.lock().unwrap();
        assert_eq!(posted.len(), 1, "{posted:#?}");
        let body: serde_json::Value = serde_json::from_str(&posted[0]).unwrap();
        assert_eq!(body["check"], "sequences");
        assert_eq!(body["from"], "ok");
        assert_eq!(body["to"], "critical");
        assert_eq!(body["environment"], "test");
        let text = body["text"].as_str().unwrap();
        assert!(text.contains("sequences: ok → critical"), "{text}");
        assert!(text.contains("ticket_no"), "{text}");
        assert!(!posted[0].contains(project.cluster.password()));
    }
    // Still critical: no new post.
    assert_eq!(health().status.code(), Some(2));
    assert_eq!(bodies.lock().unwrap().len(), 1);

    project
        .client()
        .batch_execute("DROP SEQUENCE ticket_no")
        .unwrap();
    assert_eq!(health().status.code(), Some(0));
    let posted = bodies.lock().unwrap();
    assert_eq!(posted.len(), 2);
    let body: serde_json::Value = serde_json::from_str(&posted[1]).unwrap();
    assert_eq!(
        (body["from"].as_str(), body["to"].as_str()),
        (Some("critical"), Some("ok"))
    );
    assert!(posted
        .iter()
        .all(|b| !b.contains(project.cluster.password())));
    // The state is remembered under .dbsage/.
    let state = std::fs::read_to_string(project.root().join(".dbsage/health-test.json")).unwrap();
    assert!(state.contains("\"sequences\": \"ok\""), "{state}");
}

#[test]
fn an_unreachable_webhook_is_a_warning_and_the_change_is_posted_later() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener);
    let project = TestProject::with_config("\n[alerts]\nwebhook = \"${ALERT_WEBHOOK_URL}\"\n");
    plant_sequence_at_95_percent(&project);
    let out = project
        .cmd()
        .env("ALERT_WEBHOOK_URL", &dead_url)
        .args(["health"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(err.contains("alert for `sequences` not sent"), "{err}");
    let (url, bodies) = webhook_server();
    let out = project
        .cmd()
        .env("ALERT_WEBHOOK_URL", &url)
        .args(["health"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(bodies.lock().unwrap().len(), 1);
}
