//! CPU time by process (bench, broker, agent) from `/proc/<pid>/stat`: unlike requests/s it
//! hardly moves when other work shares the machine, so it says where a relayed call's cost goes.

use std::time::Duration;

use anyhow::Result;
use serde_json::{Map, Value, json};

use crate::bench::process::cpu_time_of;
use crate::bench::stack::Stack;

/// CPU time used by the bench process (load generator and origin), the broker and the agent.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    pub bench: Duration,
    pub broker: Duration,
    pub agent: Duration,
}

impl CpuUse {
    pub fn now(stack: &Stack) -> Result<CpuUse> {
        Ok(CpuUse {
            bench: cpu_time_of("self")?,
            broker: stack.broker.cpu_time()?,
            agent: stack.agent.cpu_time()?,
        })
    }

    pub fn since(self, earlier: CpuUse) -> CpuUse {
        CpuUse {
            bench: self.bench.saturating_sub(earlier.bench),
            broker: self.broker.saturating_sub(earlier.broker),
            agent: self.agent.saturating_sub(earlier.agent),
        }
    }

    pub fn add(&mut self, other: CpuUse) {
        self.bench += other.bench;
        self.broker += other.broker;
        self.agent += other.agent;
    }
}

/// CPU microseconds per successful call, by process (warm-up included on both sides).
pub fn cpu_per_call(
    direct: &CpuUse,
    d_calls: u64,
    relay: &CpuUse,
    r_calls: u64,
) -> Map<String, Value> {
    let per = |cpu: Duration, calls: u64| round1(cpu.as_secs_f64() * 1e6 / calls.max(1) as f64);
    let mut out = Map::new();
    out.insert(
        "direct_bench_cpu_us_per_call".into(),
        json!(per(direct.bench, d_calls)),
    );
    out.insert(
        "relay_bench_cpu_us_per_call".into(),
        json!(per(relay.bench, r_calls)),
    );
    out.insert(
        "relay_broker_cpu_us_per_call".into(),
        json!(per(relay.broker, r_calls)),
    );
    out.insert(
        "relay_agent_cpu_us_per_call".into(),
        json!(per(relay.agent, r_calls)),
    );
    out
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
