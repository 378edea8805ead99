//! Top language of a repository from its file list (names only, no contents).
//!
//! Each file votes for the language of its extension (or well-known file name); the language
//! with the most files wins, ties broken by name for determinism. Paths that are vendored,
//! generated or not source at all are ignored: dependency directories (`node_modules/`,
//! `vendor/`, `third_party/`, `bower_components/`, `.yarn/`), build output (`dist/`, `build/`,
//! `target/`, `out/`, `bin/`, `obj/`), minified and generated files (`*.min.js`, `*.pb.go`,
//! `*_generated.*`, `*.designer.cs`), lockfiles, and data/markup that is not a programming
//! language (JSON, YAML, Markdown, text). The table is documented in docs/sync.md.

use std::collections::HashMap;

/// Extension (lowercase, without the dot) → language.
const EXTENSIONS: &[(&str, &str)] = &[
    ("rs", "Rust"),
    ("go", "Go"),
    ("java", "Java"),
    ("kt", "Kotlin"),
    ("kts", "Kotlin"),
    ("scala", "Scala"),
    ("groovy", "Groovy"),
    ("js", "JavaScript"),
    ("mjs", "JavaScript"),
    ("cjs", "JavaScript"),
    ("jsx", "JavaScript"),
    ("ts", "TypeScript"),
    ("tsx", "TypeScript"),
    ("py", "Python"),
    ("rb", "Ruby"),
    ("php", "PHP"),
    ("cs", "C#"),
    ("fs", "F#"),
    ("vb", "Visual Basic"),
    ("c", "C"),
    ("h", "C"),
    ("cc", "C++"),
    ("cpp", "C++"),
    ("cxx", "C++"),
    ("hpp", "C++"),
    ("hh", "C++"),
    ("m", "Objective-C"),
    ("mm", "Objective-C"),
    ("swift", "Swift"),
    ("dart", "Dart"),
    ("ex", "Elixir"),
    ("exs", "Elixir"),
    ("erl", "Erlang"),
    ("clj", "Clojure"),
    ("hs", "Haskell"),
    ("ml", "OCaml"),
    ("lua", "Lua"),
    ("pl", "Perl"),
    ("pm", "Perl"),
    ("r", "R"),
    ("jl", "Julia"),
    ("sh", "Shell"),
    ("bash", "Shell"),
    ("ps1", "PowerShell"),
    ("sql", "SQL"),
    ("tf", "HCL"),
    ("hcl", "HCL"),
    ("vue", "Vue"),
    ("svelte", "Svelte"),
    ("css", "CSS"),
    ("scss", "SCSS"),
    ("less", "Less"),
    ("html", "HTML"),
    ("htm", "HTML"),
];

/// Whole file names that identify a language.
const FILE_NAMES: &[(&str, &str)] = &[
    ("dockerfile", "Dockerfile"),
    ("makefile", "Makefile"),
    ("jenkinsfile", "Groovy"),
];

/// Directory names whose contents are not the repository's own source.
const IGNORED_DIRS: &[&str] = &[
    "node_modules",
    "vendor",
    "third_party",
    "third-party",
    "bower_components",
    ".yarn",
    "dist",
    "build",
    "target",
    "out",
    "bin",
    "obj",
    ".git",
    "__pycache__",
    ".venv",
    "venv",
    "generated",
];

/// File name suffixes of generated or minified code.
const IGNORED_SUFFIXES: &[&str] = &[
    ".min.js",
    ".min.css",
    ".pb.go",
    ".pb.cc",
    ".pb.h",
    "_pb2.py",
    ".designer.cs",
    ".g.cs",
    ".generated.ts",
    ".d.ts",
];

/// Whether a path is vendored, generated or build output.
pub fn is_ignored(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let mut segments = lower.split('/');
    let file = segments.next_back().unwrap_or_default();
    if lower
        .split('/')
        .rev()
        .skip(1)
        .any(|dir| IGNORED_DIRS.contains(&dir))
    {
        return true;
    }
    IGNORED_SUFFIXES.iter().any(|suffix| file.ends_with(suffix)) || file.contains("_generated.")
}

/// The language a single path counts for, if any.
pub fn language_of(path: &str) -> Option<&'static str> {
    if is_ignored(path) {
        return None;
    }
    let file = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if let Some((_, lang)) = FILE_NAMES.iter().find(|(name, _)| *name == file) {
        return Some(lang);
    }
    let (_, ext) = file.rsplit_once('.')?;
    EXTENSIONS
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, lang)| *lang)
}

/// The most common language among `paths`, if any file counts.
pub fn top_language<'a>(paths: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
    let mut counts: HashMap<&'static str, usize> = HashMap::new();
    for path in paths {
        if let Some(lang) = language_of(path) {
            *counts.entry(lang).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(lang, _)| lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_by_extension_and_file_name() {
        for (path, lang) in [
            ("src/main.rs", Some("Rust")),
            ("web/App.TSX", Some("TypeScript")),
            ("Dockerfile", Some("Dockerfile")),
            ("README.md", None),
            ("package.json", None),
            ("noextension", None),
        ] {
            assert_eq!(language_of(path), lang, "{path}");
        }
    }

    #[test]
    fn vendored_and_generated_paths_do_not_count() {
        for path in [
            "node_modules/x/index.js",
            "vendor/github.com/a/b.go",
            "api/v1/api.pb.go",
            "static/app.min.js",
            "build/out.java",
            "src/types.d.ts",
        ] {
            assert!(is_ignored(path), "{path}");
            assert_eq!(language_of(path), None);
        }
    }

    #[test]
    fn the_most_common_language_wins_and_ties_are_deterministic() {
        let files = [
            "a.go",
            "b.go",
            "c.py",
            "node_modules/1.js",
            "node_modules/2.js",
            "node_modules/3.js",
        ];
        assert_eq!(top_language(files), Some("Go"));
        assert_eq!(top_language(["a.py", "b.go"]), Some("Go"));
        assert_eq!(top_language(["README.md"]), None);
    }
}
