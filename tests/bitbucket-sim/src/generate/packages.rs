//! Package manifests and lock files of all nine kinds the sync engine parses, with realistic
//! content: package.json, package-lock.json (v1/v2/v3), yarn.lock (v1 and berry),
//! pnpm-lock.yaml, requirements.txt, Pipfile.lock, packages.lock.json, pom.xml and go.sum
//! (plus the manifests that go with them: Pipfile, go.mod, *.csproj).

mod go;
mod maven;
mod npm;
mod nuget;
mod python;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::seed::SimRng;

/// Every kind of package file the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PackageFile {
    PackageJson,
    PackageLock(u8),
    YarnV1,
    YarnBerry,
    PnpmLock,
    Requirements,
    Pipfile,
    PipfileLock,
    Csproj,
    NugetLock,
    Pom,
    GoMod,
    GoSum,
}

/// A dependency pick: name, exact version and whether it is a dev/test dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    pub name: &'static str,
    pub version: &'static str,
    pub dev: bool,
}

/// Picks `lo..=hi` distinct entries of `catalog` (`(name, version)`), about a quarter dev-only.
fn pick_deps(
    rng: &mut SimRng,
    catalog: &[(&'static str, &'static str)],
    lo: u64,
    hi: u64,
) -> Vec<Dep> {
    let n = rng.between(lo, hi).min(catalog.len() as u64) as usize;
    let mut idx: Vec<usize> = (0..catalog.len()).collect();
    // Partial Fisher-Yates: the first n are a uniform sample.
    for i in 0..n {
        let j = i + rng.index(idx.len() - i);
        idx.swap(i, j);
    }
    let mut deps: Vec<Dep> = idx[..n]
        .iter()
        .filter_map(|&i| catalog.get(i))
        .map(|&(name, version)| Dep {
            name,
            version,
            dev: rng.chance(0.25),
        })
        .collect();
    deps.sort_by(|a, b| a.name.cmp(b.name));
    deps
}

/// A base64 digest-looking string of `len` bytes derived from `what`.
fn fake_digest(seed: u64, what: &str, len: usize) -> Vec<u8> {
    let mut rng = SimRng::derived(seed, what, 0);
    (0..len).map(|_| rng.below(256) as u8).collect()
}

fn b64_digest(seed: u64, what: &str, len: usize) -> String {
    STANDARD.encode(fake_digest(seed, what, len))
}

fn hex_digest(seed: u64, what: &str, len: usize) -> String {
    hex::encode(fake_digest(seed, what, len))
}

/// Content of a package file for the project `name` (a repo slug or a monorepo service).
pub fn content(kind: PackageFile, seed: u64, name: &str) -> String {
    let mut rng = SimRng::derived(seed, "packages", 0);
    match kind {
        PackageFile::PackageJson => npm::package_json(&npm::deps(&mut rng), name, &mut rng),
        PackageFile::PackageLock(v) => npm::package_lock(&npm::deps(&mut rng), name, v, seed),
        PackageFile::YarnV1 => npm::yarn_v1(&npm::deps(&mut rng), seed),
        PackageFile::YarnBerry => npm::yarn_berry(&npm::deps(&mut rng), name, seed),
        PackageFile::PnpmLock => npm::pnpm(&npm::deps(&mut rng), seed),
        PackageFile::Requirements => python::requirements(&python::deps(&mut rng), &mut rng, seed),
        PackageFile::Pipfile => python::pipfile(&python::deps(&mut rng)),
        PackageFile::PipfileLock => python::pipfile_lock(&python::deps(&mut rng), seed),
        PackageFile::Csproj => nuget::csproj(&nuget::deps(&mut rng), name),
        PackageFile::NugetLock => nuget::lock(&nuget::deps(&mut rng), seed),
        PackageFile::Pom => maven::pom(&mut rng, name),
        PackageFile::GoMod => go::go_mod(&go::deps(&mut rng), name),
        PackageFile::GoSum => go::go_sum(&go::deps(&mut rng), seed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lock_files_parse() {
        for (kind, seed) in [
            (PackageFile::PackageJson, 1),
            (PackageFile::PackageLock(1), 2),
            (PackageFile::PackageLock(2), 3),
            (PackageFile::PackageLock(3), 4),
            (PackageFile::PipfileLock, 5),
            (PackageFile::NugetLock, 6),
        ] {
            let text = content(kind, seed, "svc");
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(parsed.is_object(), "{kind:?}");
        }
    }

    #[test]
    fn manifest_and_lock_agree_on_dependencies() {
        let manifest: serde_json::Value =
            serde_json::from_str(&content(PackageFile::PackageJson, 9, "svc")).unwrap();
        let lock: serde_json::Value =
            serde_json::from_str(&content(PackageFile::PackageLock(3), 9, "svc")).unwrap();
        for (name, _) in manifest["dependencies"].as_object().unwrap() {
            assert!(
                lock["packages"][format!("node_modules/{name}")].is_object(),
                "{name}"
            );
        }
    }

    #[test]
    fn pom_uses_properties() {
        let pom = content(PackageFile::Pom, 3, "svc");
        assert!(pom.contains("<properties>"));
        assert!(pom.contains("${"));
    }
}
