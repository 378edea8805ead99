//! Go modules: go.mod and go.sum.

use std::fmt::Write;

use super::{Dep, b64_digest, pick_deps};
use crate::seed::SimRng;

const CATALOG: &[(&str, &str)] = &[
    ("github.com/gin-gonic/gin", "v1.9.1"),
    ("github.com/google/uuid", "v1.6.0"),
    ("github.com/pkg/errors", "v0.9.1"),
    ("github.com/prometheus/client_golang", "v1.18.0"),
    ("github.com/sirupsen/logrus", "v1.9.3"),
    ("github.com/spf13/cobra", "v1.8.0"),
    ("github.com/stretchr/testify", "v1.8.4"),
    ("go.uber.org/zap", "v1.26.0"),
    ("golang.org/x/net", "v0.20.0"),
    ("golang.org/x/sync", "v0.6.0"),
    ("google.golang.org/grpc", "v1.61.0"),
    ("gopkg.in/yaml.v3", "v3.0.1"),
];

pub fn deps(rng: &mut SimRng) -> Vec<Dep> {
    pick_deps(rng, CATALOG, 2, 8)
}

pub fn go_mod(deps: &[Dep], name: &str) -> String {
    let mut out = format!("module bitbucket.acme.example/{name}\n\ngo 1.21\n\nrequire (\n");
    for d in deps {
        let _ = writeln!(
            out,
            "\t{} {}{}",
            d.name,
            d.version,
            if d.dev { " // indirect" } else { "" }
        );
    }
    out.push_str(")\n");
    out
}

pub fn go_sum(deps: &[Dep], seed: u64) -> String {
    let mut out = String::new();
    for d in deps {
        let _ = writeln!(
            out,
            "{} {} h1:{}",
            d.name,
            d.version,
            b64_digest(seed, &format!("{} zip", d.name), 32)
        );
        let _ = writeln!(
            out,
            "{} {}/go.mod h1:{}",
            d.name,
            d.version,
            b64_digest(seed, &format!("{} mod", d.name), 32)
        );
    }
    out
}
