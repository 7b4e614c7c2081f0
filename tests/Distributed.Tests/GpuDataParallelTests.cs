using System;
using System.Collections.Generic;
using System.IO;
using System.Text.RegularExpressions;

namespace ModelDsl.Distributed.Tests;

/// <summary>
/// GPU data-parallel training (GpuDataParallel over NcclCommunicator, the generated sessions' hooks) end to end under
/// mpirun, on the CPU emulator of the GPU, with the stand-in libnccl (StandInNccl: a test double over shared memory,
/// not NCCL). What this cannot show (real NCCL, real GPUs, streams) is listed in docs/distributed.md.
/// </summary>
public sealed class GpuDataParallelTests : IDisposable
{
    /// <summary>
    /// As on the CPU (DataParallelTests): only the order of the float sums differs, here (g₀/2 + g₁/2) against the whole
    /// batch's mean; measured 1.2e-7 (Adam) and 8e-8 (SGD) after 20 steps. A missing all-reduce differs by 1e-1.
    /// </summary>
    private const float Tolerance = 1e-5f;

    /// <summary>Generous against a slow shared CI machine; MpiLauncher.HardLimit (90 s) fails a hang.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly string _dir = Directory.CreateTempSubdirectory("modeldsl-gpu-dp-").FullName;

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd")]
    public void Two_emulated_gpus_with_half_batches_match_one_with_the_whole_batch(string model)
    {
        if (!MpiLauncher.Available()) return;
        string one = Path.Combine(_dir, "one.bin"), two = Path.Combine(_dir, "two.bin"), half = Path.Combine(_dir, "half.bin");
        var alone = MpiLauncher.Alone(null, "train", "--device", "emulated", "--model", model, "--steps", "20", "--batch", "32", "--out", one);
        Assert.True(alone.ExitCode == 0, alone.Output);
        // Rank 1 starts from other weights (seed + 1): the NCCL broadcast of rank 0's arenas must replace them.
        var parallel = MpiLauncher.Mpi(StandInNccl.Environment(), 2, "train", "--distributed", "--distinct-seeds", "--device", "emulated",
            "--model", model, "--steps", "20", "--batch", "32", "--out", two);
        Assert.True(parallel.ExitCode == 0, parallel.Output);
        Assert.Contains("2 rank(s)", parallel.Output);
        Assert.Contains("gradients: NCCL all-reduce over ", parallel.Output);
        Assert.Contains("stand-in for tests", parallel.Output);

        var (stepOne, reference) = DataParallelTests.Read(one);
        var (stepTwo, distributed) = DataParallelTests.Read(two);
        Assert.Equal(20, stepOne);
        Assert.Equal(20, stepTwo);
        Assert.True(Math.Abs(EvalLoss(alone.Output) - EvalLoss(parallel.Output)) <= 1e-4, $"{alone.Output}\n{parallel.Output}");
        float difference = DataParallelTests.MaxDifference(reference, distributed);
        Assert.True(difference <= Tolerance, $"{model}: 2 emulated GPUs x 16 and 1 x 32 differ by {difference} after 20 steps (tolerance {Tolerance})\n{parallel.Output}");

        // The control: half the batch alone ends far outside the tolerance, so the comparison above can fail.
        var halfBatch = MpiLauncher.Alone(null, "train", "--device", "emulated", "--model", model, "--steps", "20", "--batch", "16", "--out", half);
        Assert.True(halfBatch.ExitCode == 0, halfBatch.Output);
        Assert.True(DataParallelTests.MaxDifference(reference, DataParallelTests.Read(half).Values) > 100 * Tolerance);
    }

    [Fact]
    public void One_rank_over_nccl_takes_exactly_the_plain_gpu_step()
    {
        // The one-GPU check of issue 16: a communicator of one changes nothing (no scaling, a sum of one), bit for bit.
        if (!MpiLauncher.Available()) return;
        string plain = Path.Combine(_dir, "plain.bin"), nccl = Path.Combine(_dir, "nccl.bin");
        var alone = MpiLauncher.Alone(null, "train", "--device", "emulated", "--model", "adam", "--steps", "20", "--batch", "32", "--out", plain);
        Assert.True(alone.ExitCode == 0, alone.Output);
        var single = MpiLauncher.Mpi(StandInNccl.Environment(), 1, "train", "--distributed", "--device", "emulated",
            "--model", "adam", "--steps", "20", "--batch", "32", "--out", nccl);
        Assert.True(single.ExitCode == 0, single.Output);
        Assert.Contains("gradients: NCCL all-reduce over ", single.Output);
        Assert.Equal(DataParallelTests.Read(plain).Values, DataParallelTests.Read(nccl).Values);
    }

    [Fact]
    public void The_nccl_broadcast_and_all_reduce_reach_every_rank_in_chunks()
    {
        // 300,000 floats: more than the stand-in's 65,536-float chunk, so the chunked path runs too.
        if (!MpiLauncher.Available()) return;
        var run = MpiLauncher.Mpi(StandInNccl.Environment(), 2, "nccl", "--distributed", "--device", "emulated", "--floats", "300000");
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("all-reduce of 300000 floats over 2 rank(s): every element 3 on every rank", run.Output);
    }

    [Fact]
    public void A_rank_that_never_joins_the_all_reduce_is_named_and_the_job_aborted()
    {
        // Rank 1 sleeps for ten minutes instead of joining; rank 0 waits in ncclAllReduce, which never completes (the
        // stand-in, like NCCL, waits for a live peer without limit). NcclCommunicator's deadline ends it: ncclCommAbort,
        // then the MPI watchdog names the rank that does not answer; MPI_Abort ends the job, the sleeper included.
        if (!MpiLauncher.Available()) return;
        var stalled = MpiLauncher.Mpi(StandInNccl.Environment(), 2, "nccl", "--distributed", "--device", "emulated", "--stall-rank", "1", "--timeout", "10");
        Assert.NotEqual(0, stalled.ExitCode);
        Assert.True(stalled.Elapsed < Bound, $"the job took {stalled.Elapsed} to end after a rank stalled\n{stalled.Output}");
        Assert.Contains("error: rank 0 of 2: ncclAllReduce (rank + 1 everywhere", stalled.Output);
        Assert.Contains("did not complete within 10 s; rank 1 did not arrive", stalled.Output);
    }

    [Fact]
    public void A_rank_that_dies_during_the_all_reduce_is_reported_by_nccl_and_named()
    {
        // mpirun would kill the job itself when rank 1 dies (the test below); told not to, the survivor sees what NCCL
        // reports: the stand-in notices the dead peer (ncclRemoteError, as NCCL's transports do), the communicator is
        // aborted, and the watchdog confirms which rank is gone.
        if (!MpiLauncher.Available()) return;
        var died = MpiLauncher.Mpi(StandInNccl.Environment(), ["--mca", "orte_abort_on_non_zero_status", "0"], 2,
            "nccl", "--distributed", "--device", "emulated", "--die-rank", "1", "--timeout", "30");
        Assert.NotEqual(0, died.ExitCode);
        Assert.True(died.Elapsed < Bound, $"the job took {died.Elapsed} to end after a rank died\n{died.Output}");
        Assert.Matches(@"error: rank 0 of 2: ncclAllReduce \(rank \+ 1 everywhere, collective #\d+\) failed: ncclRemoteError \(6\): remote process exited or there was a network error; NCCL stand-in \(test double\): rank 1 \(pid \d+\) has exited; rank 1 did not arrive", died.Output);
    }

    [Fact]
    public void A_killed_rank_ends_the_gpu_job_naming_it()
    {
        if (!MpiLauncher.Available()) return;
        var killed = MpiLauncher.Mpi(StandInNccl.Environment(), 2, "train", "--distributed", "--device", "emulated", "--model", "adam",
            "--steps", "20", "--batch", "32", "--die-rank", "1", "--die-step", "8", "--timeout", "10");
        Assert.NotEqual(0, killed.ExitCode);
        Assert.True(killed.Elapsed < Bound, $"the job took {killed.Elapsed} to end after a rank died\n{killed.Output}");
        // mpirun notices the dead process first and kills the job naming it; otherwise the watchdog or the stand-in does.
        Assert.Matches(@"process rank 1 .*exited on signal 9|rank 1 did not arrive|rank 1 \(pid \d+\) has exited", killed.Output);
        Assert.Contains("step 6 loss", killed.Output); // printed before step 7, which both ranks still finish
        Assert.DoesNotContain("step 8 loss", killed.Output);
    }

    [Fact]
    public void Without_nccl_gpu_data_parallel_explains_what_is_missing()
    {
        if (!MpiLauncher.Available()) return;
        var noNccl = new Dictionary<string, string> { ["MODELDSL_NCCL_LIBRARY"] = "/nonexistent/libnccl.so.2" };
        var run = MpiLauncher.Mpi(noNccl, 1, "train", "--distributed", "--device", "emulated", "--steps", "3");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("error: data-parallel training on GPUs needs NCCL, and no libnccl could be loaded (tried /nonexistent/libnccl.so.2", run.Output);
        Assert.Contains("apt-get install libnccl2", run.Output);
        Assert.DoesNotContain("Unhandled exception", run.Output);
    }

    [Fact]
    public void On_a_machine_without_a_gpu_the_cuda_device_is_an_error_not_a_crash()
    {
        if (!MpiLauncher.Available()) return;
        var run = MpiLauncher.Mpi(StandInNccl.Environment(), 1, "train", "--distributed", "--device", "cuda", "--steps", "3");
        Assert.DoesNotContain("Unhandled exception", run.Output);
        if (run.ExitCode == 0) return; // a machine with a GPU: trained; nothing more to see here
        Assert.Equal(1, run.ExitCode);
        // No driver, no device, no NVRTC or cuBLAS, or (on a GPU) the stand-in refused in favour of NCCL: each says so.
        Assert.Matches(@"error: (no CUDA driver|no CUDA device|.*NVRTC|cuBLAS not found|.*stand-in for tests, which reduces)", run.Output);
    }

    private static double EvalLoss(string output) =>
        double.Parse(Regex.Match(output, @"eval loss (\d+\.\d+) over").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
