using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace ModelDsl.Runtime.Distributed;

/// <summary>
/// Data-parallel training of any generated model (PyTorch DDP's scheme, on MPI): every rank holds a replica, computes
/// gradients on its shard of the global batch, and the gradients are averaged over ranks before every optimizer step,
/// so the replicas stay identical.
/// <code>
/// using var world = MpiCommunicator.Initialize();
/// var model = new FashionMlp(seed: 42);
/// var parallel = new DataParallel(model, world);        // rank 0's parameters to every rank; dropout stream = rank
/// var batches = new MiniBatches(train, batchSize: 128, seed: 42, rank: world.Rank, ranks: world.Size);
/// ...
/// float localLoss = model.ComputeGradients(x, y);       // this rank's rows only
/// float loss = parallel.Step(localLoss, batches.CurrentBatchSize);   // all-reduce, then model.ApplyGradients()
/// </code>
/// </summary>
/// <remarks>
/// <para><b>Averaging.</b> Each rank's gradient is the mean over its own rows; the global batch's mean gradient is the
/// row-weighted mean of those, Σ nᵣ·gᵣ / Σ nᵣ. Each rank scales by its row count, the sums are all-reduced (the row
/// counts and loss sums ride in the same buffer), and the result is divided by the total: exact also when a last
/// batch splits unevenly.</para>
/// <para><b>Buckets.</b> The gradients are flattened into buckets of about <see cref="DefaultBucketBytes"/>, contiguous
/// runs of parameters in checkpoint order, one <c>MPI_Iallreduce</c> each, all in flight together. They cannot
/// overlap with the backward pass: the generated <c>RunBackward</c> is one method with no per-parameter hook, so the
/// all-reduce starts when all gradients are done (docs/distributed.md has the measurement).</para>
/// </remarks>
public sealed class DataParallel : IDataParallel
{
    /// <summary>Bucket size: PyTorch DDP's default of 25 MiB; a model smaller than that travels in one all-reduce.</summary>
    public const int DefaultBucketBytes = 25 << 20;

    private readonly ITrainableModel _model;
    private readonly float[][] _buckets;
    private readonly (Parameter Parameter, int Bucket, int Offset)[] _layout;

    /// <summary>
    /// Makes every replica identical to rank 0's (parameters and optimizer state broadcast; the step checked equal on
    /// all ranks) and gives each rank its own dropout stream.
    /// </summary>
    /// <exception cref="DistributedException">The ranks hold different models or steps, or a collective failed.</exception>
    public DataParallel(ITrainableModel model, MpiCommunicator world, int bucketBytes = DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(world);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketBytes, sizeof(float));
        _model = model;
        World = world;
        (_buckets, _layout) = Plan(model.Parameters, bucketBytes / sizeof(float));
        Synchronize();
    }

    public MpiCommunicator World { get; }

    public ITrainableModel Model => _model;

    /// <summary>Wall time spent in the gradient all-reduce (waiting for the slowest rank included), over <see cref="AllreduceCount"/> steps.</summary>
    public TimeSpan AllreduceTime { get; private set; }

    /// <summary>Gradient all-reduces done by <see cref="AverageGradients"/>.</summary>
    public int AllreduceCount { get; private set; }

    /// <summary>The gradient buckets' sizes in floats (the last carries two extra: rows and loss sum).</summary>
    public IReadOnlyList<int> BucketLengths => Array.ConvertAll(_buckets, b => b.Length);

    /// <inheritdoc/>
    public string Description =>
        $"MPI all-reduce, {_buckets.Length} bucket{(_buckets.Length == 1 ? "" : "s")} of {string.Join(" + ", BucketLengths.Select(n => n.ToString("N0", CultureInfo.InvariantCulture)))} floats";

    /// <summary>
    /// Broadcasts parameters and optimizer state from rank 0 and checks that every rank holds the same architecture and
    /// optimizer step. Called by the constructor; call it again after every rank has loaded a checkpoint to resume.
    /// </summary>
    public void Synchronize()
    {
        long elements = 0;
        foreach (var p in _model.Parameters) elements += p.Length * (1 + p.StateCount);
        var (minElements, maxElements) = World.AllreduceMinMax((int)Math.Min(int.MaxValue, elements), "parameter count check");
        if (minElements != maxElements)
            throw new DistributedException(
                $"rank {World.Rank} of {World.Size}: the ranks hold different models ({minElements} to {maxElements} parameter and optimizer-state values); every rank must build the same .model.",
                World.Rank, "parameter count check");
        var (minStep, maxStep) = World.AllreduceMinMax(_model.Step, "optimizer step check");
        if (minStep != maxStep)
            throw new DistributedException(
                $"rank {World.Rank} of {World.Size}: the replicas are at different optimizer steps ({minStep} to {maxStep}; this rank {_model.Step}): resume every rank from the same checkpoint.",
                World.Rank, "optimizer step check");
        foreach (var p in _model.Parameters)
        {
            World.Broadcast(p.Value, root: 0, $"initial {p.Name}");
            p.MarkChanged(); // the values were written behind the model's back: its packed copies must be rebuilt
            if (p.StateCount >= 1) World.Broadcast(p.State1, root: 0, $"optimizer state of {p.Name}");
            if (p.StateCount >= 2) World.Broadcast(p.State2, root: 0, $"optimizer state of {p.Name}");
        }
        _model.DropoutStream = World.Rank;
    }

    /// <summary>
    /// After the model's <c>ComputeGradients</c> on this rank's <paramref name="localRows"/> rows: averages the
    /// gradients over the global batch (<see cref="AverageGradients"/>), then takes the optimizer step. Returns the
    /// global batch's mean loss.
    /// </summary>
    public float Step(float localLoss, int localRows)
    {
        float loss = AverageGradients(localLoss, localRows);
        _model.ApplyGradients();
        return loss;
    }

    /// <summary>
    /// Replaces every parameter's gradient (this rank's mean over <paramref name="localRows"/> rows) by the mean over
    /// the global batch, identical on every rank; returns the global mean loss.
    /// </summary>
    public float AverageGradients(float localLoss, int localRows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(localRows);
        float weight = localRows;
        foreach (var (p, bucket, offset) in _layout)
        {
            var source = p.Gradient.AsSpan();
            var target = _buckets[bucket].AsSpan(offset, source.Length);
            for (int i = 0; i < source.Length; i++) target[i] = source[i] * weight;
        }
        var last = _buckets[^1];
        last[^2] = localRows;
        last[^1] = localLoss * localRows;

        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        World.AllreduceSum(_buckets, $"gradients of step {_model.Step + 1}");
        AllreduceTime += System.Diagnostics.Stopwatch.GetElapsedTime(start);
        AllreduceCount++;

        float rows = last[^2];
        if (!(rows > 0))
            throw new InvalidOperationException($"rank {World.Rank}: step {_model.Step + 1} has no rows on any rank.");
        float scale = 1f / rows;
        foreach (var (p, bucket, offset) in _layout)
        {
            var source = _buckets[bucket].AsSpan(offset, p.Gradient.Length);
            var target = p.Gradient.AsSpan();
            for (int i = 0; i < target.Length; i++) target[i] = source[i] * scale;
        }
        return last[^1] * scale;
    }

    /// <summary>Sums <paramref name="values"/> over all ranks, in place: evaluation totals (loss sum, correct, rows).</summary>
    public void ReduceSums(Span<double> values, string what) => World.AllreduceSum(values, what);

    /// <summary>
    /// Rank 0 writes the checkpoint (atomically: a temporary file renamed over <paramref name="path"/>, so a crash
    /// mid-write leaves the previous one intact); every rank then waits for it, so no rank runs ahead of a checkpoint
    /// that might not exist.
    /// </summary>
    public void Save(string path) => SaveOnRoot(World, path, _model.Save);

    /// <summary>
    /// Rank 0 runs <paramref name="save"/> (which must write atomically); every rank then learns whether it worked, so
    /// all stop together instead of waiting for rank 0 in the next step. Both data-parallel kinds save through this.
    /// </summary>
    public static void SaveOnRoot(MpiCommunicator world, string path, Action<string> save)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(save);
        Exception? failure = null;
        if (world.IsRoot)
        {
            // Any failure, not only I/O: a rank 0 that threw here would leave the others waiting in the reduce below.
            try { save(path); }
            catch (Exception ex) { failure = ex; }
        }
        Span<double> failed = [failure is null ? 0 : 1];
        world.AllreduceSum(failed, $"checkpoint {path}");
        if (failure is not null) throw new IOException($"rank 0 could not write the checkpoint {path}: {failure.Message}", failure);
        if (failed[0] != 0) throw new IOException($"rank {world.Rank}: rank 0 could not write the checkpoint {path}; stopping with it.");
    }

    /// <summary>
    /// Every rank reads <paramref name="path"/> (it must be readable by all: a shared file system, or a copy on each
    /// machine), then <see cref="Synchronize"/> checks they agree and makes rank 0's the truth.
    /// </summary>
    public void Load(string path)
    {
        _model.Load(path);
        Synchronize();
    }

    private static (float[][] Buckets, (Parameter, int, int)[] Layout) Plan(IReadOnlyList<Parameter> parameters, int bucketFloats)
    {
        var sizes = new List<int>();
        var layout = new (Parameter, int, int)[parameters.Count];
        int current = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            int length = checked((int)parameters[i].Length);
            if (sizes.Count == 0 || (current > 0 && (long)current + length > bucketFloats))
            {
                sizes.Add(0);
                current = 0;
            }
            layout[i] = (parameters[i], sizes.Count - 1, current);
            current += length;
            sizes[^1] = current;
        }
        if (sizes.Count == 0) sizes.Add(0);
        var buckets = new float[sizes.Count][];
        for (int b = 0; b < sizes.Count; b++) buckets[b] = new float[sizes[b] + (b == sizes.Count - 1 ? 2 : 0)];
        return (buckets, layout);
    }
}
