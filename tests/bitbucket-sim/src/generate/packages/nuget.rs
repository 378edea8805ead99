//! NuGet: an SDK-style .csproj and packages.lock.json.

use std::fmt::Write;

use serde_json::{Map, json};

use super::{Dep, b64_digest, pick_deps};
use crate::seed::SimRng;

const CATALOG: &[(&str, &str)] = &[
    ("AutoMapper", "13.0.1"),
    ("Dapper", "2.1.28"),
    ("FluentValidation", "11.9.0"),
    ("MediatR", "12.2.0"),
    ("Microsoft.Extensions.Logging", "8.0.0"),
    ("Newtonsoft.Json", "13.0.3"),
    ("Polly", "8.2.1"),
    ("Serilog", "3.1.1"),
    ("xunit", "2.6.6"),
];

pub fn deps(rng: &mut SimRng) -> Vec<Dep> {
    pick_deps(rng, CATALOG, 2, 6)
}

pub fn csproj(deps: &[Dep], name: &str) -> String {
    let mut out = format!(
        "<Project Sdk=\"Microsoft.NET.Sdk\">\n\n  <PropertyGroup>\n    <TargetFramework>net8.0</TargetFramework>\n    <RootNamespace>Acme.{}</RootNamespace>\n    <RestorePackagesWithLockFile>true</RestorePackagesWithLockFile>\n  </PropertyGroup>\n\n  <ItemGroup>\n",
        name.replace('-', ".")
    );
    for d in deps {
        let _ = writeln!(
            out,
            "    <PackageReference Include=\"{}\" Version=\"{}\" />",
            d.name, d.version
        );
    }
    out.push_str("  </ItemGroup>\n\n</Project>\n");
    out
}

pub fn lock(deps: &[Dep], seed: u64) -> String {
    let mut framework = Map::new();
    for d in deps {
        framework.insert(
            d.name.to_owned(),
            json!({
                "type": "Direct",
                "requested": format!("[{}, )", d.version),
                "resolved": d.version,
                "contentHash": b64_digest(seed, d.name, 64),
            }),
        );
    }
    framework.insert(
        "System.Runtime.CompilerServices.Unsafe".to_owned(),
        json!({"type": "Transitive", "resolved": "6.0.0", "contentHash": b64_digest(seed, "unsafe", 64)}),
    );
    let doc = json!({"version": 1, "dependencies": {"net8.0": framework}});
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
