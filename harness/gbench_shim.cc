// The C API over Google Benchmark (see gbench_shim.h).  The project's only
// C++: it forwards, converts types and catches exceptions at the boundary,
// and holds no benchmark logic of its own.
#include "gbench_shim.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

// pb_gb_state and pb_gb_bench stay incomplete: their pointers are casts of
// benchmark::State* and benchmark::internal::Benchmark*.

namespace {

benchmark::State *S(pb_gb_state *s) { return reinterpret_cast<benchmark::State *>(s); }
const benchmark::State *S(const pb_gb_state *s)
{
    return reinterpret_cast<const benchmark::State *>(s);
}
benchmark::internal::Benchmark *B(pb_gb_bench *b)
{
    return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}

// Sends the context and every run to the library's display reporter
// (aggregates only when there are some, to keep the terminal short), to a
// JSON reporter writing into a string (all runs: compare.py's U test needs
// the repetitions), and to the C observer.
class TeeReporter : public benchmark::BenchmarkReporter {
public:
    TeeReporter(benchmark::BenchmarkReporter *display, benchmark::BenchmarkReporter *json,
                pb_gb_observer obs, void *user)
        : display_(display), json_(json), obs_(obs), user_(user)
    {
    }

    bool ReportContext(const Context &context) override
    {
        bool ok = display_->ReportContext(context);
        if (json_) ok = json_->ReportContext(context) && ok;
        return ok;
    }

    void ReportRuns(const std::vector<Run> &runs) override
    {
        // The library reports the repetitions of a case, then (in a second
        // call) their aggregates; the terminal gets the aggregates and any
        // failed run, the JSON and the observer everything.
        std::vector<Run> shown;
        for (const Run &r : runs)
            if (r.run_type == Run::RT_Aggregate || r.error_occurred || r.repetitions <= 1)
                shown.push_back(r);
        if (!shown.empty()) display_->ReportRuns(shown);
        if (json_) json_->ReportRuns(runs);
        if (obs_)
            for (const Run &r : runs) Observe(r);
    }

    void Finalize() override
    {
        display_->Finalize();
        if (json_) json_->Finalize();
    }

private:
    void Observe(const Run &r)
    {
        std::string name = r.run_name.str();
        std::vector<std::string> names;
        std::vector<const char *> cnames;
        std::vector<double> values;
        for (const auto &kv : r.counters) {
            names.push_back(kv.first);
            values.push_back(kv.second.value);
        }
        for (const std::string &n : names) cnames.push_back(n.c_str());
        pb_gb_report rep;
        rep.name = name.c_str();
        rep.aggregate = r.run_type == Run::RT_Aggregate ? r.aggregate_name.c_str() : "";
        rep.error = r.error_occurred;
        rep.error_message = r.error_occurred ? r.error_message.c_str() : "";
        rep.iterations = r.iterations;
        rep.repetition_index = r.run_type == Run::RT_Aggregate ? -1 : r.repetition_index;
        rep.repetitions = r.repetitions;
        // Percent-unit aggregates (cv) carry the plain statistic; time ones
        // are converted from the run's unit to ns.
        if (r.run_type == Run::RT_Aggregate && r.aggregate_unit == benchmark::kPercentage) {
            rep.real_time_ns = r.real_accumulated_time;
            rep.cpu_time_ns = r.cpu_accumulated_time;
        } else {
            double to_ns = 1e9 / benchmark::GetTimeUnitMultiplier(r.time_unit);
            rep.real_time_ns = r.GetAdjustedRealTime() * to_ns;
            rep.cpu_time_ns = r.GetAdjustedCPUTime() * to_ns;
        }
        rep.counter_count = values.size();
        rep.counter_names = cnames.data();
        rep.counter_values = values.data();
        obs_(&rep, user_);
    }

    benchmark::BenchmarkReporter *display_;
    benchmark::BenchmarkReporter *json_;
    pb_gb_observer obs_;
    void *user_;
};

// Inserts "poolbench": <obj> as the first member of the JSON's context.
bool splice_context(std::string &json, const char *obj)
{
    const std::string key = "\"context\": {";
    size_t at = json.find(key);
    if (at == std::string::npos) return false;
    at += key.size();
    json.insert(at, std::string("\n    \"poolbench\": ") + obj + ",");
    return true;
}

} // namespace

extern "C" {

pb_status pb_gb_init(int *argc, char **argv)
{
    if (!argc || !argv || *argc < 1 || !argv[0]) return PB_ERR_NULL;
    try {
        benchmark::Initialize(argc, argv);
    } catch (...) {
        return PB_ERR_LIBRARY;
    }
    return PB_OK;
}

pb_status pb_gb_register(const char *name, pb_gb_fn fn, void *user, pb_gb_bench **out)
{
    if (out) *out = nullptr;
    if (!name || !fn) return PB_ERR_NULL;
    if (!*name) return PB_ERR_PARSE;
    try {
        benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
            name, [fn, user](benchmark::State &st) {
                fn(reinterpret_cast<pb_gb_state *>(&st), user);
            });
        b->UseRealTime();
        if (out) *out = reinterpret_cast<pb_gb_bench *>(b);
    } catch (...) {
        return PB_ERR_NOMEM;
    }
    return PB_OK;
}

pb_status pb_gb_bench_repetitions(pb_gb_bench *b, int n)
{
    if (!b) return PB_ERR_NULL;
    if (n < 1) return PB_ERR_PARSE;
    B(b)->Repetitions(n);
    return PB_OK;
}

pb_status pb_gb_bench_min_time(pb_gb_bench *b, double seconds)
{
    if (!b) return PB_ERR_NULL;
    if (!(seconds > 0.0)) return PB_ERR_PARSE; // the library aborts on <= 0
    B(b)->MinTime(seconds);
    return PB_OK;
}

void pb_gb_clear(void) { benchmark::ClearRegisteredBenchmarks(); }

bool pb_gb_keep_running(pb_gb_state *st) { return st && S(st)->KeepRunning(); }

bool pb_gb_keep_running_batch(pb_gb_state *st, int64_t n)
{
    return st && n >= 1 && S(st)->KeepRunningBatch(n);
}

int64_t pb_gb_iterations(const pb_gb_state *st) { return st ? S(st)->iterations() : 0; }

void pb_gb_pause(pb_gb_state *st)
{
    if (st) S(st)->PauseTiming();
}

void pb_gb_resume(pb_gb_state *st)
{
    if (st) S(st)->ResumeTiming();
}

pb_status pb_gb_set_counter(pb_gb_state *st, const char *name, double value, unsigned flags)
{
    if (!st || !name) return PB_ERR_NULL;
    if (!*name || (flags & ~PB_GB_COUNTER_ALL)) return PB_ERR_PARSE;
    int f = 0;
    if (flags & PB_GB_COUNTER_RATE) f |= benchmark::Counter::kIsRate;
    if (flags & PB_GB_COUNTER_AVG_THREADS) f |= benchmark::Counter::kAvgThreads;
    if (flags & PB_GB_COUNTER_ITER_INVARIANT) f |= benchmark::Counter::kIsIterationInvariant;
    if (flags & PB_GB_COUNTER_AVG_ITERS) f |= benchmark::Counter::kAvgIterations;
    if (flags & PB_GB_COUNTER_INVERT) f |= benchmark::Counter::kInvert;
    try {
        S(st)->counters[name] = benchmark::Counter(
            value, static_cast<benchmark::Counter::Flags>(f),
            (flags & PB_GB_COUNTER_BASE1024) ? benchmark::Counter::kIs1024
                                             : benchmark::Counter::kIs1000);
    } catch (...) {
        return PB_ERR_NOMEM;
    }
    return PB_OK;
}

void pb_gb_set_label(pb_gb_state *st, const char *label)
{
    if (st && label) S(st)->SetLabel(label);
}

void pb_gb_skip_with_error(pb_gb_state *st, const char *msg)
{
    if (st) S(st)->SkipWithError(msg ? msg : "error");
}

bool pb_gb_error_occurred(const pb_gb_state *st) { return st && S(st)->error_occurred(); }

pb_status pb_gb_add_context(const char *key, const char *value)
{
    if (!key || !value) return PB_ERR_NULL;
    try {
        benchmark::AddCustomContext(key, value);
    } catch (...) {
        return PB_ERR_NOMEM;
    }
    return PB_OK;
}

pb_status pb_gb_run(const char *json_path, pb_gb_context_fn context, void *context_user,
                    pb_gb_observer observer, void *user, size_t *ran)
{
    if (ran) *ran = 0;
    // open the JSON before running: a bad path fails in a second, not
    // after the benchmarks
    FILE *f = nullptr;
    if (json_path && !(f = std::fopen(json_path, "w"))) return PB_ERR_IO;
    pb_status st = PB_OK;
    char *block = nullptr;
    try {
        // the library keeps this one in a static: not ours to delete
        benchmark::BenchmarkReporter *display = benchmark::CreateDefaultDisplayReporter();
        std::ostringstream json_text;
        benchmark::JSONReporter json;
        json.SetOutputStream(&json_text);
        json.SetErrorStream(&json_text);
        if (!display) {
            st = PB_ERR_LIBRARY;
        } else {
            TeeReporter tee(display, f ? &json : nullptr, observer, user);
            size_t n = benchmark::RunSpecifiedBenchmarks(&tee);
            if (ran) *ran = n;
        }
        if (st == PB_OK && context) st = context(context_user, &block);
        if (f && st == PB_OK) {
            std::string text = json_text.str();
            // empty when nothing ran (--benchmark_list_tests): an empty file
            if (!text.empty() && block && !splice_context(text, block))
                st = PB_ERR_LIBRARY;
            else if (std::fwrite(text.data(), 1, text.size(), f) != text.size() ||
                     std::fflush(f) != 0)
                st = PB_ERR_IO;
        }
    } catch (...) {
        st = PB_ERR_NOMEM;
    }
    std::free(block);
    if (f && std::fclose(f) != 0 && st == PB_OK) st = PB_ERR_IO;
    return st;
}

} // extern "C"
