//! File trees and file contents, derived from a repository's seed.
//!
//! A tree is a sorted list of paths with a [`FileKind`] each; contents are generated only for
//! the file asked for. Trees look like real services: sources and tests in the layout of their
//! ecosystem, docs, CI files, sometimes vendored dependencies and generated files, a README (or
//! not), a `cortex.yaml` at the root or in `.cortex/` (or several in a monorepo, or a broken one).

use std::fmt::Write;

use super::descriptors::{DescriptorContext, DescriptorKind, cortex_yaml};
use super::packages::{self, PackageFile};
use super::words::{COMPONENTS, NOUNS};
use crate::model::Repo;
use crate::seed::{SimRng, derive};

/// What a path holds, which decides how its content is generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    Readme,
    License,
    Gitignore,
    Ci,
    Dockerfile,
    Doc,
    Source,
    Test,
    /// A package file for the project called by the string (repo slug or service name).
    Package(PackageFile, String),
    Descriptor(DescriptorKind, Option<String>),
    Vendored,
    Generated,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    pub kind: FileKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ecosystem {
    Node(PackageFile),
    Python(bool),
    Java,
    Go,
    DotNet,
    DocsOnly,
}

fn ecosystem(rng: &mut SimRng) -> Ecosystem {
    match rng.below(20) {
        0 => Ecosystem::Node(PackageFile::PackageLock(1)),
        1 | 2 => Ecosystem::Node(PackageFile::PackageLock(2)),
        3 | 4 => Ecosystem::Node(PackageFile::PackageLock(3)),
        5 => Ecosystem::Node(PackageFile::YarnV1),
        6 => Ecosystem::Node(PackageFile::YarnBerry),
        7 => Ecosystem::Node(PackageFile::PnpmLock),
        8..=9 => Ecosystem::Python(false),
        10 => Ecosystem::Python(true),
        11..=13 => Ecosystem::Java,
        14..=16 => Ecosystem::Go,
        17..=18 => Ecosystem::DotNet,
        _ => Ecosystem::DocsOnly,
    }
}

/// The generated tree of a repository, sorted by path. `duplicate_of` is another repository's
/// tag this one may (wrongly) reuse.
pub fn tree(repo: &Repo, duplicate_of: Option<&str>) -> Vec<FileEntry> {
    let mut rng = SimRng::derived(repo.seed, "tree", 0);
    let mut out = Vec::new();
    let mut add = |path: String, kind: FileKind| out.push(FileEntry { path, kind });
    if rng.chance(0.8) {
        add("README.md".into(), FileKind::Readme);
    }
    if rng.chance(0.5) {
        add("LICENSE".into(), FileKind::License);
    }
    add(".gitignore".into(), FileKind::Gitignore);
    if rng.chance(0.5) {
        let ci = if rng.chance(0.5) {
            "Jenkinsfile"
        } else {
            "bitbucket-pipelines.yml"
        };
        add(ci.into(), FileKind::Ci);
    }
    if rng.chance(0.4) {
        add("docs/architecture.md".into(), FileKind::Doc);
        add("docs/runbook.md".into(), FileKind::Doc);
    }
    let size = 2 + (repo.commits / 25).min(30);
    let monorepo = derive(repo.seed, "monorepo", 0) % 16 == 3;
    if monorepo {
        let services = rng.between(2, 4);
        for s in 0..services {
            let name = format!("{}-{}", rng.word(NOUNS), s + 1);
            let dir = format!("services/{name}");
            let eco = ecosystem(&mut rng);
            project_files(&mut add, &mut rng, &dir, &name, eco, size / services + 1);
            add(
                format!("{dir}/cortex.yaml"),
                FileKind::Descriptor(DescriptorKind::Valid, Some(dir.clone())),
            );
        }
    } else {
        let eco = ecosystem(&mut rng);
        project_files(&mut add, &mut rng, "", &repo.slug, eco, size);
    }
    let descriptor = match (rng.below(100), duplicate_of) {
        (0..=59, _) => Some(("cortex.yaml", DescriptorKind::Valid)),
        (60..=71, _) => Some((".cortex/cortex.yaml", DescriptorKind::Valid)),
        (72..=75, _) => Some(("cortex.yaml", DescriptorKind::SyntaxError)),
        (76..=78, _) => Some(("cortex.yaml", DescriptorKind::MissingTag)),
        (79..=81, Some(other)) => Some((
            "cortex.yaml",
            DescriptorKind::DuplicateTag(other.to_owned()),
        )),
        _ => None,
    };
    if let Some((path, kind)) = descriptor.filter(|_| !monorepo || rng.chance(0.5)) {
        add(path.into(), FileKind::Descriptor(kind, None));
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup_by(|a, b| a.path == b.path);
    out
}

fn join(dir: &str, rest: &str) -> String {
    if dir.is_empty() {
        rest.to_owned()
    } else {
        format!("{dir}/{rest}")
    }
}

/// Adds one project's files under `dir`: `size` source/test pairs in the ecosystem's layout,
/// its manifests and lock files, and sometimes vendored or generated files.
fn project_files(
    add: &mut impl FnMut(String, FileKind),
    rng: &mut SimRng,
    dir: &str,
    name: &str,
    eco: Ecosystem,
    size: u64,
) {
    let module = name.replace('-', "_");
    for i in 0..size {
        let suffix = if i >= NOUNS.len() as u64 {
            i.to_string()
        } else {
            String::new()
        };
        let noun = format!("{}{suffix}", rng.word(NOUNS));
        for (path, kind) in source_pair(eco, &module, &noun) {
            add(join(dir, &path), kind);
        }
    }
    let pkg = |kind: PackageFile| FileKind::Package(kind, name.to_owned());
    let mut extra = |path: &str, kind: FileKind| add(join(dir, path), kind);
    match eco {
        Ecosystem::Node(lock) => {
            extra("package.json", pkg(PackageFile::PackageJson));
            let lock_name = match lock {
                PackageFile::YarnV1 | PackageFile::YarnBerry => "yarn.lock",
                PackageFile::PnpmLock => "pnpm-lock.yaml",
                _ => "package-lock.json",
            };
            extra(lock_name, pkg(lock));
            extra("src/index.js", FileKind::Source);
            if rng.chance(0.15) {
                extra("node_modules/left-pad/index.js", FileKind::Vendored);
                extra("node_modules/left-pad/package.json", FileKind::Vendored);
            }
            if rng.chance(0.2) {
                extra("dist/bundle.min.js", FileKind::Generated);
            }
        }
        Ecosystem::Python(true) => {
            extra("Pipfile", pkg(PackageFile::Pipfile));
            extra("Pipfile.lock", pkg(PackageFile::PipfileLock));
            extra(&format!("src/{module}/__init__.py"), FileKind::Source);
        }
        Ecosystem::Python(false) => {
            extra("requirements.txt", pkg(PackageFile::Requirements));
            extra(&format!("src/{module}/__init__.py"), FileKind::Source);
        }
        Ecosystem::Java => extra("pom.xml", pkg(PackageFile::Pom)),
        Ecosystem::Go => {
            extra("go.mod", pkg(PackageFile::GoMod));
            extra("go.sum", pkg(PackageFile::GoSum));
            extra("main.go", FileKind::Source);
            if rng.chance(0.15) {
                extra("vendor/github.com/pkg/errors/errors.go", FileKind::Vendored);
                extra("vendor/modules.txt", FileKind::Vendored);
            }
            if rng.chance(0.2) {
                extra("api/v1/service.pb.go", FileKind::Generated);
            }
        }
        Ecosystem::DotNet => {
            let project = name.replace('-', ".");
            extra(
                &format!("src/{module}/{project}.csproj"),
                pkg(PackageFile::Csproj),
            );
            extra(
                &format!("src/{module}/packages.lock.json"),
                pkg(PackageFile::NugetLock),
            );
            extra(&format!("src/{module}/Program.cs"), FileKind::Source);
        }
        Ecosystem::DocsOnly => extra("mkdocs.yml", FileKind::Generated),
    }
}

/// A source file and its test, where the ecosystem puts them.
fn source_pair(eco: Ecosystem, module: &str, noun: &str) -> Vec<(String, FileKind)> {
    let class: String = noun
        .chars()
        .take(1)
        .flat_map(char::to_uppercase)
        .chain(noun.chars().skip(1))
        .collect();
    let (src, test) = match eco {
        Ecosystem::Node(_) => (
            format!("src/{noun}.js"),
            Some(format!("test/{noun}.test.js")),
        ),
        Ecosystem::Python(_) => (
            format!("src/{module}/{noun}.py"),
            Some(format!("tests/test_{noun}.py")),
        ),
        Ecosystem::Java => (
            format!("src/main/java/com/acme/{module}/{class}.java"),
            Some(format!("src/test/java/com/acme/{module}/{class}Test.java")),
        ),
        Ecosystem::Go => (
            format!("internal/{noun}/{noun}.go"),
            Some(format!("internal/{noun}/{noun}_test.go")),
        ),
        Ecosystem::DotNet => (format!("src/{module}/{class}.cs"), None),
        Ecosystem::DocsOnly => return vec![(format!("docs/{noun}.md"), FileKind::Doc)],
    };
    std::iter::once((src, FileKind::Source))
        .chain(test.map(|t| (t, FileKind::Test)))
        .collect()
}

/// The content of a generated file.
pub fn content(repo: &Repo, ctx: &DescriptorContext, entry: &FileEntry) -> String {
    let seed = derive(repo.seed, &entry.path, 0);
    let mut rng = SimRng::new(seed);
    match &entry.kind {
        FileKind::Readme => readme(repo, &mut rng),
        FileKind::License => "MIT License\n\nCopyright (c) 2024 Acme Corp\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the \"Software\"), to deal\nin the Software without restriction.\n".to_owned(),
        FileKind::Gitignore => "node_modules/\ntarget/\n__pycache__/\n*.log\n.env\n.idea/\n".to_owned(),
        FileKind::Ci => format!("# CI for {}\npipeline:\n  - stage: build\n  - stage: test\n  - stage: deploy\n", repo.slug),
        FileKind::Dockerfile => "FROM alpine:3.19\nCOPY . /app\nCMD [\"/app/run\"]\n".to_owned(),
        FileKind::Doc => format!("# {}\n\nThis page describes the {}.\n", entry.path, rng.word(COMPONENTS)),
        FileKind::Source | FileKind::Test | FileKind::Vendored => source(&entry.path, &mut rng),
        FileKind::Generated => format!("// Code generated by a tool. DO NOT EDIT.\n// source: {}\n{}\n", entry.path, "0".repeat(64)),
        FileKind::Package(kind, name) => packages::content(*kind, seed, name),
        FileKind::Descriptor(kind, basepath) => cortex_yaml(kind, ctx, basepath.as_deref()),
    }
}

fn readme(repo: &Repo, rng: &mut SimRng) -> String {
    let mut out = format!("# {}\n\n", repo.name);
    if let Some(d) = &repo.description {
        let _ = writeln!(out, "{d}\n");
    }
    out.push_str("## Getting started\n\n```sh\nmake build\nmake test\n```\n\n## Ownership\n\n");
    let _ = writeln!(
        out,
        "Questions about the {}? Ask in the team channel.",
        rng.word(COMPONENTS)
    );
    out
}

fn source(path: &str, rng: &mut SimRng) -> String {
    let lines = rng.between(8, 60);
    let comment = if path.ends_with(".py") { "#" } else { "//" };
    let mut out = format!("{comment} {path}\n");
    for i in 0..lines {
        let _ = writeln!(
            out,
            "{comment} step {i}: {} the {}",
            rng.word(super::words::VERBS).to_lowercase(),
            rng.word(COMPONENTS)
        );
    }
    out
}
