using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace ModelDsl.Distributed.Tests;

/// <summary>
/// Data-parallel training against single-process training, under Open MPI's mpirun (tests/DistributedRun).
/// Two ranks with half the batch each must follow one process with the whole batch step for step.
/// </summary>
public sealed class DataParallelTests : IDisposable
{
    /// <summary>
    /// Parameters after 20 steps may differ by this much: the only difference is the order of the floating-point sums
    /// (per-rank partial gradients summed by MPI, then scaled), which moves values of size ~1 by a few ulps per step;
    /// measured 1.2e-7 (Adam) and 6e-8 (SGD). A missing or wrong all-reduce differs by 1e-2 and more.
    /// </summary>
    private const float Tolerance = 1e-5f;

    private readonly string _dir = Directory.CreateTempSubdirectory("modeldsl-dp-").FullName;

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd")]
    public void Two_ranks_with_half_batches_match_one_rank_with_the_whole_batch(string model)
    {
        if (!MpiLauncher.Available()) return;
        string one = Path.Combine(_dir, "one.bin"), two = Path.Combine(_dir, "two.bin"), half = Path.Combine(_dir, "half.bin");
        var alone = MpiLauncher.Alone(null, "train", "--model", model, "--steps", "20", "--batch", "32", "--out", one);
        Assert.True(alone.ExitCode == 0, alone.Output);
        // Rank 1 starts from other weights (seed + 1, already used once): the broadcast from rank 0 must replace them.
        var parallel = MpiLauncher.Mpi(2, "train", "--distributed", "--distinct-seeds", "--model", model, "--steps", "20", "--batch", "32", "--out", two);
        Assert.True(parallel.ExitCode == 0, parallel.Output);
        Assert.Contains("2 rank(s)", parallel.Output);

        var (stepOne, reference) = Read(one);
        var (stepTwo, distributed) = Read(two);
        Assert.Equal(20, stepOne);
        Assert.Equal(20, stepTwo);
        // Evaluation: each rank its half of the 512 rows, the sums reduced: the whole set's loss on every rank.
        Assert.Contains(" over 512 rows", parallel.Output);
        Assert.True(Math.Abs(EvalLoss(alone.Output) - EvalLoss(parallel.Output)) <= 1e-4, $"{alone.Output}\n{parallel.Output}");
        float difference = MaxDifference(reference, distributed);
        Assert.True(difference <= Tolerance, $"{model}: 2 ranks x 16 and 1 rank x 32 differ by {difference} after 20 steps (tolerance {Tolerance})\n{parallel.Output}");

        // The control: one process with only half the batch (what a rank without the all-reduce would train on)
        // ends far outside the tolerance, so the comparison above can fail.
        var halfBatch = MpiLauncher.Alone(null, "train", "--model", model, "--steps", "20", "--batch", "16", "--out", half);
        Assert.True(halfBatch.ExitCode == 0, halfBatch.Output);
        Assert.True(MaxDifference(reference, Read(half).Values) > 100 * Tolerance);
    }

    [Fact]
    public void Each_rank_draws_its_own_dropout_masks_and_rank_0_draws_the_single_process_ones()
    {
        if (!MpiLauncher.Available()) return;
        string one = Path.Combine(_dir, "one.txt"), two = Path.Combine(_dir, "two.txt");
        var alone = MpiLauncher.Alone(null, "dropout", "--out", one);
        Assert.True(alone.ExitCode == 0, alone.Output);
        var parallel = MpiLauncher.Mpi(2, "dropout", "--distributed", "--out", two);
        Assert.True(parallel.ExitCode == 0, parallel.Output);
        // Every rank computed the gradient of the same batch at the same step from the same weights: only the masks differ.
        double single = Checksums(one)[0];
        var ranks = Checksums(two);
        Assert.Equal(single, ranks[0]);
        Assert.NotEqual(ranks[0], ranks[1]);
    }

    [Fact]
    public void An_mpi_error_becomes_an_exception_naming_the_call_and_the_rank()
    {
        if (!MpiLauncher.Available()) return;
        var run = MpiLauncher.Mpi(1, "bad-root", "--distributed");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("error: rank 0 of 1: MPI_Ibcast (a buffer from a rank that does not exist) failed: MPI_ERR_ROOT", run.Output);
        Assert.DoesNotContain("returned without an error", run.Output);
    }

    [Fact]
    public void Without_mpi_a_single_process_trains_and_distributed_mode_explains_what_is_missing()
    {
        // A libmpi that cannot exist stands in for a machine without Open MPI: the plain run never loads it.
        var noMpi = new Dictionary<string, string> { ["MODELDSL_MPI_LIBRARY"] = "/nonexistent/libmpi.so.40" };
        var alone = MpiLauncher.Alone(noMpi, "train", "--steps", "3");
        Assert.True(alone.ExitCode == 0, alone.Output);
        Assert.Contains("step 3 loss", alone.Output);

        var distributed = MpiLauncher.Alone(noMpi, "train", "--steps", "3", "--distributed");
        Assert.Equal(1, distributed.ExitCode);
        Assert.Contains("error: distributed mode needs Open MPI, and no libmpi could be loaded (tried /nonexistent/libmpi.so.40", distributed.Output);
        Assert.Contains("apt-get install openmpi-bin libopenmpi3", distributed.Output);
    }

    internal static (int Step, float[] Values) Read(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        int step = reader.ReadInt32();
        var values = new float[(reader.BaseStream.Length - 4) / 4];
        for (int i = 0; i < values.Length; i++) values[i] = reader.ReadSingle();
        return (step, values);
    }

    internal static float MaxDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        float max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }

    private static double EvalLoss(string output) =>
        double.Parse(System.Text.RegularExpressions.Regex.Match(output, @"eval loss (\d+\.\d+) over").Groups[1].Value, CultureInfo.InvariantCulture);

    private static double[] Checksums(string path) =>
        File.ReadAllLines(path).Select(l => double.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture)).ToArray();

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
