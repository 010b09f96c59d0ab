//! Call overhead, side by side in one run: a plain fn pointer inside the shell (the
//! baseline), the typed cross-module fast path, the generic `call` with an empty payload
//! (through a resolved handle, and by module id), and the seed's bincode request/response
//! round trip of the same call.
//!
//! `cargo bench -p playground-tests --bench calls` (builds the fixtures in release first).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fx_probe_contract::Probe;
use playground_api::bincode;
use playground_api::serde::{Deserialize, Serialize};
use playground_tests::Sandbox;

/// The baseline: the same no-op, behind a fn pointer, inside this binary.
#[inline(never)]
fn local_noop(total: &mut u64) {
    black_box(total);
}

#[derive(Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
struct Request {
    module: String,
    method: String,
    args: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
struct Response {
    result: Result<Vec<u8>, String>,
}

fn calls(c: &mut Criterion) {
    let sandbox = Sandbox::fixtures();
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the fixtures load");
    let probe = runtime.service::<dyn Probe>().expect("the probe service");
    let handle = runtime.handle("systems/probe").expect("a handle");
    let config = bincode::config::standard();

    let mut group = c.benchmark_group("call");
    let mut total = 0u64;
    // Each callee is obtained once, outside the loop, and hidden from the optimiser, as a
    // module holds a fn pointer, a service or a handle in a field and calls it many times.
    let f: fn(&mut u64) = black_box(local_noop);
    let probe = black_box(&probe);
    let handle = black_box(&handle);
    group.bench_function("fn pointer in the shell (baseline)", |b| b.iter(|| f(black_box(&mut total))));
    group.bench_function("typed service (fast path)", |b| {
        b.iter(|| probe.with(|p| p.noop()));
    });
    // The paths as modules use them: `plugins/counter` makes `iters` calls into
    // `systems/probe` in one generic call, whose own cost is spread over millions of calls:
    // typed (through the contract's service) and generic (through a `Callee` it keeps, the
    // loader's handle behind `dyn Callee`).
    let counter = runtime.handle("plugins/counter").expect("a handle");
    for (name, method) in
        [("typed service, module to module", "probe_noops"), ("generic call, module to module", "generic_noops")]
    {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let args = playground_api::codec::encode(&iters).expect("encode");
                let started = std::time::Instant::now();
                counter.call(method, &args).expect("the counter calls the probe");
                started.elapsed()
            });
        });
    }
    group.bench_function("generic call, resolved handle", |b| {
        b.iter(|| handle.call(black_box("noop"), black_box(&[])));
    });
    group.bench_function("generic call, by module id", |b| {
        b.iter(|| runtime.call(black_box("systems/probe"), black_box("noop"), black_box(&[])));
    });
    group.bench_function("bincode request/response (old path)", |b| {
        b.iter(|| {
            let request = Request { module: "systems/probe".into(), method: "noop".into(), args: Vec::new() };
            let bytes = bincode::serde::encode_to_vec(&request, config).expect("encode");
            let (request, _): (Request, usize) = bincode::serde::decode_from_slice(&bytes, config).expect("decode");
            let result = runtime.call(&request.module, &request.method, &request.args).map_err(|e| e.to_string());
            let bytes = bincode::serde::encode_to_vec(Response { result }, config).expect("encode");
            let (response, _): (Response, usize) = bincode::serde::decode_from_slice(&bytes, config).expect("decode");
            black_box(response)
        });
    });
    group.finish();
}

criterion_group!(benches, calls);
criterion_main!(benches);
