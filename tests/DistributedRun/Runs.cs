using System.Diagnostics;
using System.Globalization;
using ModelDsl.Cuda;
using ModelDsl.Cuda.Distributed;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;
using ModelDsl.Runtime.Distributed;

namespace ModelDsl.DistributedRun;

internal static class Runs
{
    private const int Features = 16, Classes = 4;

    /// <summary>Trains to <c>--steps</c> optimizer steps (resuming from the checkpoint with --resume) and writes rank 0's parameters.</summary>
    public static int Train(RunOptions o, MpiCommunicator? world)
    {
        int rank = world?.Rank ?? 0, ranks = world?.Size ?? 1;
        // --distinct-seeds: every rank starts from other weights (and has already run them once, so the CPU kernels
        // hold packed copies of them); the data-parallel broadcast must make rank 0's the weights of all.
        ulong seed = o.DistinctSeeds ? o.Seed + (ulong)rank : o.Seed;
        // --device emulated|cuda: the GPU session of the same model; one GPU per rank (device = local rank).
        using var gpu = OpenDevice(o.Device);
        using var replica = Replica.Create(o.Model, seed, gpu);
        var model = replica.Model;
        var data = Problem(rows: 512, seed: 7);
        if (o.DistinctSeeds) replica.Evaluate(new Tensor(data.Features, data.Count, Features), new IntTensor(data.Labels!, data.Count));
        var parallel = world is null ? null : replica.Parallel(world, o.BucketBytes);
        using var _ = parallel as IDisposable;
        if (rank == 0 && parallel is not null) Console.WriteLine($"gradients: {parallel.Description}");
        if (o.Resume && o.Checkpoint is { } resumeFrom && File.Exists(resumeFrom))
        {
            if (parallel is null) replica.Load(resumeFrom);
            else parallel.Load(resumeFrom);
            if (rank == 0) Console.WriteLine($"resumed from {resumeFrom} at step {model.Step}");
        }

        var batches = new MiniBatches(data, o.Batch, seed: (int)o.Seed, rank: rank, ranks: ranks);
        var x = new Tensor(batches.Features, batches.Features.Length / Features, Features);
        var y = new IntTensor(batches.Labels, batches.Labels.Length);
        // Resume exactly where the checkpoint's step left the data order: epoch and batch within it.
        int epoch = model.Step / batches.BatchesPerEpoch, skip = model.Step % batches.BatchesPerEpoch;
        var clock = Stopwatch.StartNew();
        long samples = 0;
        while (model.Step < o.Steps)
        {
            batches.StartEpoch(epoch++);
            batches.Skip(skip);
            skip = 0;
            while (model.Step < o.Steps && batches.MoveNext())
            {
                int next = model.Step + 1;
                if (rank == o.DieRank && next == o.DieStep)
                {
                    Console.Error.WriteLine($"rank {rank}: killing itself with SIGKILL before step {next} (test)");
                    Process.GetCurrentProcess().Kill();
                }
                if (rank == o.StallRank && next == o.StallStep)
                {
                    Console.Error.WriteLine($"rank {rank}: stalling before step {next} (test)");
                    Thread.Sleep(TimeSpan.FromMinutes(10));
                }
                int rows = batches.CurrentBatchSize;
                x.SetBatch(rows);
                y.SetBatch(rows);
                float loss = replica.ComputeGradients(x, y);
                if (parallel is null) replica.ApplyGradients();
                else loss = parallel.Step(loss, rows);
                samples += batches.GlobalBatchSize;
                if (rank == 0) Console.WriteLine(FormattableString.Invariant($"step {model.Step} loss {loss:F6}"));
                if (o.Checkpoint is { } path && o.SaveEvery > 0 && model.Step % o.SaveEvery == 0)
                {
                    if (parallel is null) replica.Save(path);
                    else parallel.Save(path);
                    if (rank == 0) Console.WriteLine($"checkpoint at step {model.Step}");
                }
            }
        }
        // Evaluation over the whole data set, each rank its contiguous share, the sums reduced over the ranks.
        int from = (int)((long)data.Count * rank / ranks), to = (int)((long)data.Count * (rank + 1) / ranks);
        var evalX = new Tensor(data.Features.AsSpan(from * Features, (to - from) * Features).ToArray(), to - from, Features);
        var evalY = new IntTensor(data.Labels.AsSpan(from, to - from).ToArray(), to - from);
        Span<double> totals = [replica.Evaluate(evalX, evalY) * (double)(to - from), to - from];
        parallel?.ReduceSums(totals, "evaluation totals");
        if (rank == 0)
        {
            Console.WriteLine(FormattableString.Invariant($"eval loss {totals[0] / totals[1]:F6} over {totals[1]} rows"));
            Console.WriteLine(FormattableString.Invariant($"{ranks} rank(s): {samples / clock.Elapsed.TotalSeconds:F0} samples/s"));
            if (o.Out is { } output) WriteParameters(output, model.Step, replica.HostParameters());
        }
        return 0;
    }

    /// <summary>
    /// Every rank computes the dropout model's gradient on the same batch at the same step: with per-rank dropout
    /// streams the masks, hence the gradients, differ. Writes one line per rank: rank and gradient checksum.
    /// </summary>
    public static int DropoutStreams(RunOptions o, MpiCommunicator? world)
    {
        int rank = world?.Rank ?? 0, ranks = world?.Size ?? 1;
        var model = new DistDropout(o.Seed);
        if (world is not null) _ = new DataParallel(model, world);
        var data = Problem(rows: 64, seed: 7);
        var x = new Tensor(data.Features, 64, Features);
        var y = new IntTensor(data.Labels!, 64);
        model.ComputeGradients(x, y);
        var sums = new double[ranks];
        foreach (var p in model.Parameters)
            foreach (float g in p.Gradient) sums[rank] += g * (double)g;
        world?.AllreduceSum(sums, "dropout checksums");
        if (rank == 0 && o.Out is { } output)
            File.WriteAllLines(output, Enumerable.Range(0, ranks).Select(r => FormattableString.Invariant($"{r} {sums[r]:R}")));
        return 0;
    }

    /// <summary>
    /// Times the gradient all-reduce alone: <c>--floats</c> values (FashionMlp's 269,322 by default) split into
    /// <c>--buckets</c> equal buckets, all in flight together, <c>--steps</c> times. Rank 0 prints µs per all-reduce.
    /// </summary>
    public static int AllreduceTiming(RunOptions o, MpiCommunicator world)
    {
        int floats = o.Floats, buckets = Math.Max(1, o.Buckets);
        var buffers = Enumerable.Range(0, buckets).Select(b => new float[floats / buckets + (b < floats % buckets ? 1 : 0)]).ToArray();
        for (int i = 0; i < 20; i++) world.AllreduceSum(buffers, "warm-up");
        world.Barrier("timing start");
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < o.Steps; i++) world.AllreduceSum(buffers, "timing");
        double micros = clock.Elapsed.TotalMicroseconds / o.Steps;
        if (world.IsRoot) Console.WriteLine(FormattableString.Invariant($"{world.Size} ranks, {floats} floats in {buckets} bucket(s): {micros:F0} us per all-reduce"));
        return 0;
    }

    /// <summary>
    /// The NCCL communicator alone on this rank's device: a broadcast from rank 0, then an all-reduce of
    /// <c>--floats</c> values that are rank + 1 on each rank, checked on every rank (every element must be the sum
    /// 1 + 2 + ... + ranks). With --stall-rank that rank sleeps instead of joining the all-reduce; with --die-rank it
    /// kills itself (SIGKILL) instead.
    /// </summary>
    public static int NcclCollectives(RunOptions o, MpiCommunicator world)
    {
        using var gpu = OpenDevice(o.Device) ?? throw new ArgumentException("nccl needs --device emulated or cuda");
        using var nccl = NcclCommunicator.Create(world, gpu);
        if (world.IsRoot) Console.WriteLine($"nccl: {nccl.Library}, {nccl.Size} rank(s)");
        using var buffer = gpu.Allocate(4L * o.Floats);
        var host = new float[o.Floats];
        Array.Fill(host, world.IsRoot ? 42f : -1f);
        buffer.CopyFrom<float>(host);
        nccl.Broadcast(buffer.Pointer, o.Floats, root: 0, "rank 0's values");
        buffer.CopyTo<float>(host);
        if (host.Any(v => v != 42f)) throw new InvalidOperationException($"rank {world.Rank}: the broadcast left other values than rank 0's");

        Array.Fill(host, world.Rank + 1f);
        buffer.CopyFrom<float>(host);
        if (world.Rank == o.StallRank)
        {
            Console.Error.WriteLine($"rank {world.Rank}: stalling before the all-reduce (test)");
            Thread.Sleep(TimeSpan.FromMinutes(10));
        }
        if (world.Rank == o.DieRank)
        {
            Console.Error.WriteLine($"rank {world.Rank}: killing itself with SIGKILL before the all-reduce (test)");
            Process.GetCurrentProcess().Kill();
        }
        nccl.AllReduceSum(buffer.Pointer, o.Floats, "rank + 1 everywhere");
        buffer.CopyTo<float>(host);
        float expected = world.Size * (world.Size + 1) / 2f;
        int wrong = host.Count(v => v != expected);
        if (wrong > 0) throw new InvalidOperationException($"rank {world.Rank}: {wrong} of {o.Floats} elements are not {expected} after the all-reduce");
        world.Barrier("results checked");
        if (world.IsRoot) Console.WriteLine(FormattableString.Invariant($"all-reduce of {o.Floats} floats over {world.Size} rank(s): every element {expected} on every rank"));
        return 0;
    }

    /// <summary>
    /// Whether overlapping the gradient all-reduce with the backward pass could pay here, measured on DistWide
    /// (FashionMlp's shape) with <c>--batch</c> rows per rank, 1 compute thread. Rounds alternate two step loops:
    /// <list type="bullet">
    /// <item>sequential: ComputeGradients, then the all-reduce of the gradients (what DataParallel does);</item>
    /// <item>overlapped, the best case: a gradient-sized all-reduce runs on a background thread (Horovod's design:
    /// a communication thread polling MPI) during the whole of ComputeGradients. Real overlap can only hide the
    /// buckets finished before the backward pass ends, so it cannot beat this.</item>
    /// </list>
    /// Rank 0 prints each round's ms per step and the medians; compute alone and all-reduce alone are timed as well.
    /// </summary>
    public static int Overlap(RunOptions o, MpiCommunicator world)
    {
        ModelDsl.Runtime.Cpu.CpuWorkers.Configure(1); // one compute thread per rank, as the samples/s figures
        var model = new DistWide(o.Seed);
        var parallel = new DataParallel(model, world, o.BucketBytes);
        int rows = o.Batch, steps = o.Steps, rounds = o.Rounds;
        var rng = new Random(3 + world.Rank);
        var x = new Tensor(Enumerable.Range(0, rows * 784).Select(_ => (float)rng.NextDouble()).ToArray(), rows, 784);
        var y = new IntTensor(Enumerable.Range(0, rows).Select(_ => rng.Next(10)).ToArray(), rows);
        var spare = new[] { new float[model.Parameters.Sum(p => (int)p.Length)] };

        // Wall ms per step and CPU ms per step (this process's user + system time: the polling thread's cost, which on a
        // machine without idle cores comes out of some other rank's compute), each the ranks' mean.
        (double Wall, double Cpu) Time(Action step)
        {
            for (int i = 0; i < 10; i++) step(); // warm-up
            world.Barrier("timing start");
            var process = Process.GetCurrentProcess();
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++) step();
            double wall = clock.Elapsed.TotalMilliseconds / steps;
            process.Refresh();
            Span<double> sums = [wall, (process.TotalProcessorTime - cpu).TotalMilliseconds / steps];
            world.AllreduceSum(sums, "timing");
            return (sums[0] / world.Size, sums[1] / world.Size);
        }

        var sequential = new List<(double Wall, double Cpu)>();
        var overlapped = new List<(double Wall, double Cpu)>();
        var compute = new List<(double Wall, double Cpu)>();
        var allreduce = new List<(double Wall, double Cpu)>();
        for (int round = 0; round < rounds; round++)
        {
            compute.Add(Time(() => model.ComputeGradients(x, y)));
            allreduce.Add(Time(() => world.AllreduceSum(spare, "all-reduce alone")));
            sequential.Add(Time(() =>
            {
                float loss = model.ComputeGradients(x, y);
                parallel.AverageGradients(loss, rows);
            }));
            overlapped.Add(Time(() =>
            {
                var communication = Task.Run(() => world.AllreduceSum(spare, "overlapped all-reduce"));
                model.ComputeGradients(x, y);
                communication.Wait();
            }));
            if (world.IsRoot)
                Console.WriteLine(FormattableString.Invariant(
                    $"round {round + 1}: compute {compute[^1].Wall:F2} ms, all-reduce {allreduce[^1].Wall:F2} ms, sequential {sequential[^1].Wall:F2} ms/step (cpu {sequential[^1].Cpu:F2}), overlapped (best case) {overlapped[^1].Wall:F2} ms/step (cpu {overlapped[^1].Cpu:F2})"));
        }
        static double Median(IEnumerable<double> v) => v.Order().ElementAt(v.Count() / 2);
        if (world.IsRoot)
            Console.WriteLine(
                FormattableString.Invariant($"medians over {rounds} rounds of {steps} steps, {world.Size} ranks x {rows} rows: compute {Median(compute.Select(t => t.Wall)):F2} ms, all-reduce {Median(allreduce.Select(t => t.Wall)):F2} ms, ") +
                FormattableString.Invariant($"sequential {Median(sequential.Select(t => t.Wall)):F2} ms/step (cpu {Median(sequential.Select(t => t.Cpu)):F2}), overlapped (best case) {Median(overlapped.Select(t => t.Wall)):F2} ms/step (cpu {Median(overlapped.Select(t => t.Cpu)):F2}); ") +
                FormattableString.Invariant($"wall saved {100 * (1 - Median(overlapped.Select(t => t.Wall)) / Median(sequential.Select(t => t.Wall))):F0}%"));
        return 0;
    }

    /// <summary>A broadcast whose root is no rank: MPI returns MPI_ERR_ROOT, which must surface as an exception.</summary>
    public static int BadRoot(MpiCommunicator world)
    {
        Span<float> buffer = stackalloc float[4];
        world.Broadcast(buffer, root: world.Size + 5, "a buffer from a rank that does not exist");
        Console.WriteLine("the broadcast returned without an error");
        return 0;
    }

    /// <summary>The device a <c>--device</c> names: none for the CPU, the emulator, or the GPU of this rank's local rank.</summary>
    private static GpuContext? OpenDevice(string device) => device switch
    {
        "emulated" => GpuContext.OpenEmulated(),
        "cuda" => GpuContext.OpenCuda(MpiCommunicator.LocalRank),
        _ => null,
    };

    /// <summary>Gaussian-ish features and the argmax of a fixed random linear teacher as the label: learnable, deterministic.</summary>
    private static Dataset Problem(int rows, int seed)
    {
        var rng = new Random(seed);
        var teacher = new float[Features * Classes];
        for (int i = 0; i < teacher.Length; i++) teacher[i] = (float)(rng.NextDouble() * 2 - 1);
        var features = new float[rows * Features];
        var labels = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            for (int f = 0; f < Features; f++) features[r * Features + f] = (float)(rng.NextDouble() + rng.NextDouble() - 1);
            float best = float.NegativeInfinity;
            for (int c = 0; c < Classes; c++)
            {
                float score = 0;
                for (int f = 0; f < Features; f++) score += features[r * Features + f] * teacher[f * Classes + c];
                if (score > best) (best, labels[r]) = (score, c);
            }
        }
        return new Dataset(features, Features, labels, source: "synthetic");
    }

    /// <summary>The step and every parameter's values, in checkpoint order, as little-endian int32 and float32.</summary>
    private static void WriteParameters(string path, int step, IReadOnlyList<Parameter> parameters)
    {
        using var file = new BinaryWriter(File.Create(path));
        file.Write(step);
        foreach (var p in parameters)
            foreach (float v in p.Value) file.Write(v);
    }
}
