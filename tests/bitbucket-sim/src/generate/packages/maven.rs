//! Maven: pom.xml with `<properties>` and `${...}` references (one of them sometimes
//! unresolvable, as in real projects that inherit it from a parent POM).

use std::fmt::Write;

use crate::seed::SimRng;

const CATALOG: &[(&str, &str, &str, &str)] = &[
    // groupId, artifactId, property, version
    (
        "org.springframework",
        "spring-core",
        "spring.version",
        "6.1.3",
    ),
    (
        "org.springframework",
        "spring-web",
        "spring.version",
        "6.1.3",
    ),
    (
        "com.fasterxml.jackson.core",
        "jackson-databind",
        "jackson.version",
        "2.16.1",
    ),
    ("org.slf4j", "slf4j-api", "slf4j.version", "2.0.12"),
    ("com.google.guava", "guava", "guava.version", "33.0.0-jre"),
    (
        "org.apache.commons",
        "commons-lang3",
        "commons-lang3.version",
        "3.14.0",
    ),
    (
        "io.micrometer",
        "micrometer-core",
        "micrometer.version",
        "1.12.2",
    ),
    (
        "org.postgresql",
        "postgresql",
        "postgresql.version",
        "42.7.1",
    ),
];

pub fn pom(rng: &mut SimRng, name: &str) -> String {
    let mut picks: Vec<&(&str, &str, &str, &str)> =
        CATALOG.iter().filter(|_| rng.chance(0.55)).collect();
    if picks.is_empty() {
        picks.extend(CATALOG.first());
    }
    let mut props: Vec<(&str, &str)> = picks.iter().map(|(_, _, p, v)| (*p, *v)).collect();
    props.sort();
    props.dedup();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project xmlns=\"http://maven.apache.org/POM/4.0.0\"\n         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n         xsi:schemaLocation=\"http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd\">\n  <modelVersion>4.0.0</modelVersion>\n\n  <groupId>com.acme</groupId>\n  <artifactId>{name}</artifactId>\n  <version>{}.{}.0-SNAPSHOT</version>\n  <packaging>jar</packaging>\n\n  <properties>\n    <java.version>17</java.version>\n    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>\n",
        rng.between(1, 3),
        rng.below(10)
    );
    for (p, v) in &props {
        let _ = writeln!(out, "    <{p}>{v}</{p}>");
    }
    out.push_str(
        "    <junit.version>5.10.2</junit.version>\n  </properties>\n\n  <dependencies>\n",
    );
    for (g, a, p, _) in &picks {
        let _ = writeln!(
            out,
            "    <dependency>\n      <groupId>{g}</groupId>\n      <artifactId>{a}</artifactId>\n      <version>${{{p}}}</version>\n    </dependency>"
        );
    }
    if rng.chance(0.3) {
        // Declared in a parent POM this repository does not contain.
        out.push_str("    <dependency>\n      <groupId>com.acme.platform</groupId>\n      <artifactId>platform-bom-client</artifactId>\n      <version>${platform.version}</version>\n    </dependency>\n");
    }
    out.push_str("    <dependency>\n      <groupId>org.junit.jupiter</groupId>\n      <artifactId>junit-jupiter</artifactId>\n      <version>${junit.version}</version>\n      <scope>test</scope>\n    </dependency>\n  </dependencies>\n</project>\n");
    out
}
