//! npm family: package.json, package-lock.json v1/v2/v3, yarn.lock v1 and berry, pnpm-lock.yaml.

use std::fmt::Write;

use serde_json::{Map, Value, json};

use super::{Dep, b64_digest, hex_digest, pick_deps};
use crate::seed::SimRng;

const CATALOG: &[(&str, &str)] = &[
    ("axios", "1.6.7"),
    ("body-parser", "1.20.2"),
    ("chalk", "4.1.2"),
    ("commander", "11.1.0"),
    ("cors", "2.8.5"),
    ("debug", "4.3.4"),
    ("dotenv", "16.4.1"),
    ("eslint", "8.56.0"),
    ("express", "4.18.2"),
    ("jest", "29.7.0"),
    ("left-pad", "1.3.0"),
    ("lodash", "4.17.21"),
    ("moment", "2.29.4"),
    ("pg", "8.11.3"),
    ("react", "18.2.0"),
    ("react-dom", "18.2.0"),
    ("semver", "7.5.4"),
    ("typescript", "5.3.3"),
    ("uuid", "9.0.1"),
    ("@babel/core", "7.23.9"),
    ("@types/node", "20.11.16"),
];

/// The transitive dependencies a few catalog entries pull in.
fn transitive(name: &str) -> &'static [(&'static str, &'static str)] {
    match name {
        "debug" => &[("ms", "2.1.2")],
        "chalk" => &[("ansi-styles", "4.3.0"), ("supports-color", "7.2.0")],
        "react" | "react-dom" => &[("loose-envify", "1.4.0")],
        "semver" => &[("lru-cache", "6.0.0")],
        "express" => &[("debug", "2.6.9"), ("ms", "2.0.0")],
        _ => &[],
    }
}

pub fn deps(rng: &mut SimRng) -> Vec<Dep> {
    pick_deps(rng, CATALOG, 3, 10)
}

fn range(rng_word: u64, version: &str) -> String {
    match rng_word % 4 {
        0 => version.to_owned(),
        1 => format!("~{version}"),
        _ => format!("^{version}"),
    }
}

fn ranges(deps: &[Dep]) -> Vec<(String, String, bool)> {
    deps.iter()
        .map(|d| {
            let r = range(d.name.len() as u64 + d.version.len() as u64, d.version);
            (d.name.to_owned(), r, d.dev)
        })
        .collect()
}

pub fn package_json(deps: &[Dep], name: &str, rng: &mut SimRng) -> String {
    let mut prod = Map::new();
    let mut dev = Map::new();
    for (n, r, is_dev) in ranges(deps) {
        if is_dev {
            dev.insert(n, r.into())
        } else {
            prod.insert(n, r.into())
        };
    }
    let mut doc = json!({
        "name": name,
        "version": format!("{}.{}.{}", rng.below(3), rng.below(12), rng.below(9)),
        "private": true,
        "main": "src/index.js",
        "scripts": {"start": "node src/index.js", "test": "jest", "lint": "eslint src"},
        "dependencies": prod,
        "engines": {"node": ">=18"}
    });
    if !dev.is_empty() {
        doc["devDependencies"] = Value::Object(dev);
    }
    pretty(&doc)
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn tarball(name: &str, version: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    format!("https://registry.npmjs.org/{name}/-/{base}-{version}.tgz")
}

fn integrity(seed: u64, name: &str, version: &str) -> String {
    format!(
        "sha512-{}",
        b64_digest(seed, &format!("{name}@{version}"), 64)
    )
}

/// A locked package: name, version, dev-only, and its own dependencies.
type Locked = (String, String, bool, Vec<(String, String)>);

/// Every locked package: the direct ones and their transitive dependencies.
fn locked(deps: &[Dep]) -> Vec<Locked> {
    let mut out: Vec<Locked> = Vec::new();
    for d in deps {
        let children: Vec<(String, String)> = transitive(d.name)
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        out.push((
            d.name.to_owned(),
            d.version.to_owned(),
            d.dev,
            children.clone(),
        ));
        for (n, v) in children {
            if !out.iter().any(|(on, _, _, _)| on == &n) && !deps.iter().any(|x| x.name == n) {
                out.push((n, v, d.dev, Vec::new()));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

pub fn package_lock(deps: &[Dep], name: &str, version: u8, seed: u64) -> String {
    let all = locked(deps);
    let mut v1 = Map::new();
    let mut packages = Map::new();
    let mut root_deps = Map::new();
    let mut root_dev = Map::new();
    for (n, r, dev) in ranges(deps) {
        if dev {
            root_dev.insert(n, r.into())
        } else {
            root_deps.insert(n, r.into())
        };
    }
    let mut root = json!({"name": name, "version": "1.0.0", "dependencies": root_deps});
    if !root_dev.is_empty() {
        root["devDependencies"] = Value::Object(root_dev);
    }
    packages.insert(String::new(), root);
    for (n, v, dev, children) in &all {
        let mut entry =
            json!({"version": v, "resolved": tarball(n, v), "integrity": integrity(seed, n, v)});
        if *dev {
            entry["dev"] = true.into();
        }
        let mut pkg = entry.clone();
        if !children.is_empty() {
            let req: Map<String, Value> = children
                .iter()
                .map(|(cn, cv)| (cn.clone(), cv.clone().into()))
                .collect();
            entry["requires"] = Value::Object(req.clone());
            pkg["dependencies"] = Value::Object(req);
        }
        v1.insert(n.clone(), entry);
        packages.insert(format!("node_modules/{n}"), pkg);
    }
    let doc = match version {
        1 => {
            json!({"name": name, "version": "1.0.0", "lockfileVersion": 1, "requires": true, "dependencies": v1})
        }
        2 => {
            json!({"name": name, "version": "1.0.0", "lockfileVersion": 2, "requires": true, "packages": packages, "dependencies": v1})
        }
        _ => {
            json!({"name": name, "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": packages})
        }
    };
    pretty(&doc)
}

pub fn yarn_v1(deps: &[Dep], seed: u64) -> String {
    let mut out = String::from(
        "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n",
    );
    let specs = ranges(deps);
    for (n, v, _, children) in locked(deps) {
        let spec = specs
            .iter()
            .find(|(sn, _, _)| sn == &n)
            .map(|(_, r, _)| r.clone())
            .unwrap_or(v.clone());
        let key = if n.starts_with('@') {
            format!("\"{n}@{spec}\"")
        } else {
            format!("{n}@{spec}")
        };
        let sha1 = hex_digest(seed, &format!("sha1 {n}@{v}"), 20);
        let _ = write!(
            out,
            "\n{key}:\n  version \"{v}\"\n  resolved \"{}#{sha1}\"\n  integrity {}\n",
            tarball(&n, &v).replace("registry.npmjs.org", "registry.yarnpkg.com"),
            integrity(seed, &n, &v)
        );
        if !children.is_empty() {
            out.push_str("  dependencies:\n");
            for (cn, cv) in children {
                let _ = writeln!(out, "    {cn} \"{cv}\"");
            }
        }
    }
    out
}

pub fn yarn_berry(deps: &[Dep], name: &str, seed: u64) -> String {
    let mut out = String::from(
        "# This file is generated by running \"yarn install\" inside your project.\n# Manual changes might be lost - proceed with caution!\n\n__metadata:\n  version: 8\n  cacheKey: 10c0\n",
    );
    let specs = ranges(deps);
    for (n, v, _, children) in locked(deps) {
        let spec = specs
            .iter()
            .find(|(sn, _, _)| sn == &n)
            .map(|(_, r, _)| r.clone())
            .unwrap_or(v.clone());
        let _ = write!(
            out,
            "\n\"{n}@npm:{spec}\":\n  version: {v}\n  resolution: \"{n}@npm:{v}\"\n"
        );
        if !children.is_empty() {
            out.push_str("  dependencies:\n");
            for (cn, cv) in children {
                let _ = writeln!(out, "    {cn}: \"npm:{cv}\"");
            }
        }
        let _ = write!(
            out,
            "  checksum: 10c0/{}\n  languageName: node\n  linkType: hard\n",
            hex_digest(seed, &format!("berry {n}@{v}"), 64)
        );
    }
    let _ = write!(
        out,
        "\n\"{name}@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"{name}@workspace:.\"\n  dependencies:\n"
    );
    for (n, r, _) in specs {
        let _ = writeln!(out, "    {n}: \"npm:{r}\"");
    }
    out.push_str("  languageName: unknown\n  linkType: soft\n");
    out
}

pub fn pnpm(deps: &[Dep], seed: u64) -> String {
    let mut out = String::from(
        "lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n  excludeLinksFromLockfile: false\n\nimporters:\n\n  .:\n",
    );
    for (section, want_dev) in [("dependencies", false), ("devDependencies", true)] {
        let specs: Vec<_> = ranges(deps)
            .into_iter()
            .filter(|(_, _, d)| *d == want_dev)
            .collect();
        if specs.is_empty() {
            continue;
        }
        let _ = writeln!(out, "    {section}:");
        for (n, r, _) in specs {
            let version = deps
                .iter()
                .find(|d| d.name == n)
                .map(|d| d.version)
                .unwrap_or("0.0.0");
            let key = if n.starts_with('@') {
                format!("'{n}'")
            } else {
                n.clone()
            };
            let _ = writeln!(
                out,
                "      {key}:\n        specifier: {r}\n        version: {version}"
            );
        }
    }
    out.push_str("\npackages:\n");
    let all = locked(deps);
    for (n, v, _, _) in &all {
        let key = if n.starts_with('@') {
            format!("'{n}@{v}'")
        } else {
            format!("{n}@{v}")
        };
        let _ = write!(
            out,
            "\n  {key}:\n    resolution: {{integrity: {}}}\n",
            integrity(seed, n, v)
        );
    }
    out.push_str("\nsnapshots:\n");
    for (n, v, _, children) in &all {
        let key = if n.starts_with('@') {
            format!("'{n}@{v}'")
        } else {
            format!("{n}@{v}")
        };
        if children.is_empty() {
            let _ = write!(out, "\n  {key}: {{}}\n");
        } else {
            let _ = write!(out, "\n  {key}:\n    dependencies:\n");
            for (cn, cv) in children {
                let _ = writeln!(out, "      {cn}: {cv}");
            }
        }
    }
    out
}
