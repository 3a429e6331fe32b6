//! `bench-runner`: see [`flagon_bench::runner`]. Normally started by `bench/run`.

fn main() -> std::process::ExitCode {
    flagon_bench::runner::main()
}
