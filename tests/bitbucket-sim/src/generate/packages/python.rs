//! Python: requirements.txt (with pip options, markers, hashes and continuations), Pipfile and
//! Pipfile.lock.

use std::fmt::Write;

use serde_json::{Map, Value, json};

use super::{Dep, hex_digest, pick_deps};
use crate::seed::SimRng;

const CATALOG: &[(&str, &str)] = &[
    ("boto3", "1.34.34"),
    ("celery", "5.3.6"),
    ("click", "8.1.7"),
    ("django", "4.2.10"),
    ("fastapi", "0.109.2"),
    ("flask", "3.0.2"),
    ("gunicorn", "21.2.0"),
    ("numpy", "1.26.4"),
    ("pandas", "2.2.0"),
    ("pydantic", "2.6.1"),
    ("pytest", "8.0.0"),
    ("python-dateutil", "2.8.2"),
    ("pyyaml", "6.0.1"),
    ("redis", "5.0.1"),
    ("requests", "2.31.0"),
    ("sqlalchemy", "2.0.25"),
    ("urllib3", "2.2.0"),
];

pub fn deps(rng: &mut SimRng) -> Vec<Dep> {
    pick_deps(rng, CATALOG, 3, 9)
}

pub fn requirements(deps: &[Dep], rng: &mut SimRng, seed: u64) -> String {
    let mut out =
        String::from("# Runtime dependencies; regenerate with `pip-compile requirements.in`.\n");
    if rng.chance(0.3) {
        out.push_str("--index-url https://pypi.acme.example/simple\n");
    }
    for (i, d) in deps.iter().filter(|d| !d.dev).enumerate() {
        match i % 5 {
            0 => {
                let _ = writeln!(
                    out,
                    "{}=={} \\\n    --hash=sha256:{}",
                    d.name,
                    d.version,
                    hex_digest(seed, d.name, 32)
                );
            }
            1 => {
                let major = d.version.split('.').next().unwrap_or("1");
                let _ = writeln!(
                    out,
                    "{}>={},<{}  # pinned below next major",
                    d.name,
                    d.version,
                    major.parse::<u32>().unwrap_or(1) + 1
                );
            }
            2 => {
                let _ = writeln!(out, "{}=={} ; python_version >= \"3.9\"", d.name, d.version);
            }
            3 => {
                let _ = writeln!(out, "{}~={}", d.name, d.version);
            }
            _ => {
                let _ = writeln!(out, "{}=={}", d.name, d.version);
            }
        }
    }
    out
}

pub fn pipfile(deps: &[Dep]) -> String {
    let mut out = String::from(
        "[[source]]\nurl = \"https://pypi.org/simple\"\nverify_ssl = true\nname = \"pypi\"\n\n[packages]\n",
    );
    for d in deps.iter().filter(|d| !d.dev) {
        let _ = writeln!(out, "{} = \"=={}\"", d.name, d.version);
    }
    out.push_str("\n[dev-packages]\n");
    for d in deps.iter().filter(|d| d.dev) {
        let _ = writeln!(out, "{} = \"*\"", d.name);
    }
    out.push_str("\n[requires]\npython_version = \"3.11\"\n");
    out
}

pub fn pipfile_lock(deps: &[Dep], seed: u64) -> String {
    let mut default = Map::new();
    let mut develop = Map::new();
    for d in deps {
        let entry = json!({
            "hashes": [
                format!("sha256:{}", hex_digest(seed, &format!("{} a", d.name), 32)),
                format!("sha256:{}", hex_digest(seed, &format!("{} b", d.name), 32)),
            ],
            "index": "pypi",
            "markers": "python_version >= '3.8'",
            "version": format!("=={}", d.version),
        });
        if d.dev {
            develop.insert(d.name.to_owned(), entry)
        } else {
            default.insert(d.name.to_owned(), entry)
        };
    }
    let doc = json!({
        "_meta": {
            "hash": {"sha256": hex_digest(seed, "pipfile", 32)},
            "pipfile-spec": 6,
            "requires": {"python_version": "3.11"},
            "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true}]
        },
        "default": Value::Object(default),
        "develop": Value::Object(develop),
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
