//! Cortex entity descriptors (`cortex.yaml`): valid ones, and the broken ones real
//! repositories contain (YAML syntax errors, a missing `x-cortex-tag`, a tag another repository
//! already uses).

use std::fmt::Write;

/// What kind of descriptor a file is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DescriptorKind {
    Valid,
    /// Not parseable YAML.
    SyntaxError,
    /// Parses, but has no `x-cortex-tag`.
    MissingTag,
    /// Valid, but reuses the tag of another repository.
    DuplicateTag(String),
}

/// Who owns the entity and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorContext {
    pub project_key: String,
    pub repo_slug: String,
    pub owner_group: Option<String>,
    pub owner_email: Option<String>,
}

/// The descriptor text. `basepath` is set for monorepo service descriptors, whose tag is the
/// service name prefixed with the repository slug.
pub fn cortex_yaml(
    kind: &DescriptorKind,
    ctx: &DescriptorContext,
    basepath: Option<&str>,
) -> String {
    let tag = match (kind, basepath) {
        (DescriptorKind::DuplicateTag(other), _) => other.clone(),
        (_, Some(path)) => format!(
            "{}-{}",
            ctx.repo_slug,
            path.rsplit('/').next().unwrap_or(path)
        ),
        (_, None) => ctx.repo_slug.clone(),
    };
    let title: String = tag
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = format!("openapi: 3.0.1\ninfo:\n  title: {title}\n");
    if *kind == DescriptorKind::SyntaxError {
        // An unterminated flow mapping: a typical hand-editing mistake.
        let _ = write!(
            out,
            "  description: \"Owned by {{team\n  x-cortex-tag: {tag}\n    x-cortex-type: service\n"
        );
        return out;
    }
    let _ = writeln!(out, "  description: The {title} service.");
    if *kind != DescriptorKind::MissingTag {
        let _ = writeln!(out, "  x-cortex-tag: {tag}");
    }
    let _ = write!(
        out,
        "  x-cortex-type: service\n  x-cortex-git:\n    bitbucket:\n      repository: {}/{}\n",
        ctx.project_key, ctx.repo_slug
    );
    if let Some(path) = basepath {
        let _ = writeln!(out, "      basepath: {path}");
    }
    if ctx.owner_group.is_some() || ctx.owner_email.is_some() {
        out.push_str("  x-cortex-owners:\n");
        if let Some(group) = &ctx.owner_group {
            let _ = writeln!(
                out,
                "    - type: group\n      name: {group}\n      provider: BITBUCKET"
            );
        }
        if let Some(email) = &ctx.owner_email {
            let _ = writeln!(out, "    - type: email\n      email: {email}");
        }
    }
    out.push_str("  x-cortex-link:\n    - name: Runbook\n      type: documentation\n      url: https://wiki.acme.example/runbooks/");
    out.push_str(&tag);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> DescriptorContext {
        DescriptorContext {
            project_key: "PAY".into(),
            repo_slug: "payments-api".into(),
            owner_group: Some("payments-team".into()),
            owner_email: Some("jane@acme.example".into()),
        }
    }

    #[test]
    fn valid_descriptor_names_repo_and_owners() {
        let y = cortex_yaml(&DescriptorKind::Valid, &ctx(), None);
        assert!(y.contains("x-cortex-tag: payments-api"));
        assert!(y.contains("repository: PAY/payments-api"));
        assert!(y.contains("provider: BITBUCKET"));
        assert!(y.contains("email: jane@acme.example"));
    }

    #[test]
    fn broken_descriptors_are_broken_in_the_stated_way() {
        assert!(!cortex_yaml(&DescriptorKind::MissingTag, &ctx(), None).contains("x-cortex-tag"));
        let dup = cortex_yaml(&DescriptorKind::DuplicateTag("other".into()), &ctx(), None);
        assert!(dup.contains("x-cortex-tag: other"));
        let monorepo = cortex_yaml(&DescriptorKind::Valid, &ctx(), Some("services/billing"));
        assert!(monorepo.contains("basepath: services/billing"));
        assert!(monorepo.contains("x-cortex-tag: payments-api-billing"));
    }
}
