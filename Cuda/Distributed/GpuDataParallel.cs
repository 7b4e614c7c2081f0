using System;
using System.Diagnostics;
using System.Globalization;
using ModelDsl.Runtime.Distributed;

namespace ModelDsl.Cuda.Distributed;

/// <summary>
/// Data-parallel training of a generated GPU session, one GPU per rank (PyTorch DDP's scheme on NCCL): every rank holds a
/// replica on its GPU, computes gradients on its shard of the global batch, and the gradients are averaged over the
/// ranks with NCCL before every optimizer step. MPI starts the job, carries NCCL's unique id and the per-step row
/// counts and losses, and runs the watchdog.
/// <code>
/// using var world = MpiCommunicator.Initialize();
/// using var gpu = GpuContext.OpenCuda(MpiCommunicator.LocalRank);      // device = local rank
/// var model = new FashionMlp(seed: 42);
/// using var session = model.ToGpu(gpu);
/// using var parallel = new GpuDataParallel(session, world);            // rank 0's parameters on every GPU
/// ...
/// float loss = parallel.Step(session.ComputeGradients(x, y), rows);   // all-reduce, then session.ApplyGradients()
/// </code>
/// </summary>
/// <remarks>
/// <para><b>Averaging.</b> Each rank's gradient is the mean over its own nᵣ rows; the global batch's mean is
/// Σ (nᵣ/N)·gᵣ. The row counts and loss sums are summed over MPI first (two doubles), then each rank scales its
/// gradient arena by nᵣ/N on the device (one kernel; skipped when nᵣ = N, so one rank is exactly the plain step) and
/// one <c>ncclAllReduce</c> sums the whole arena in place: the parameters live in one contiguous arena, so the model's
/// gradients are one flat bucket, padding included (always zero).</para>
/// <para><b>No overlap with the backward pass</b>: the all-reduce is queued after the last backward kernel. On the
/// CPU path the measurement said overlap could not pay on this project's machine (docs/distributed.md); on GPUs it
/// would need the generated backward pass to signal each parameter's last gradient write.</para>
/// </remarks>
public sealed class GpuDataParallel : IDataParallel, IDisposable
{
    /// <summary>The gradient scaling kernel (the only one outside the generated code): x[i] *= factor.</summary>
    private const string ScaleSource = """
        // ModelDsl's GPU data-parallel training (Cuda/Distributed/GpuDataParallel.cs): each rank scales its mean
        // gradient by its share of the global batch, n_r / N, before NCCL sums the ranks' gradients.
        extern "C" __global__ void __launch_bounds__(256) scale_in_place(int count, float* __restrict__ values, float factor)
        {
            for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x)
                values[i] *= factor;
        }
        """;

    private readonly IGpuTrainingSession _session;
    private readonly GpuModule _module;
    private readonly GpuKernel _scale;
    private bool _disposed;

    /// <summary>
    /// Makes every replica identical to rank 0's (parameters and optimizer state broadcast with NCCL; the arena length
    /// and the optimizer step checked equal on all ranks over MPI) and gives each rank its own dropout stream.
    /// Collective: every rank must call it, each with its own GPU's session.
    /// </summary>
    /// <exception cref="DistributedUnavailableException">No NCCL library (the message says what to install).</exception>
    /// <exception cref="DistributedException">The ranks hold different models or steps, or an NCCL or MPI call failed.</exception>
    public GpuDataParallel(IGpuTrainingSession session, MpiCommunicator world)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(world);
        _session = session;
        World = world;
        CheckReplicas();
        Nccl = NcclCommunicator.Create(world, session.Context);
        try
        {
            _module = session.Context.LoadModule("data_parallel", ScaleSource);
            _scale = _module.GetKernel("scale_in_place");
            BroadcastFromRoot();
        }
        catch
        {
            Nccl.Dispose();
            throw;
        }
    }

    public MpiCommunicator World { get; }

    /// <summary>The NCCL communicator the gradients travel over.</summary>
    public NcclCommunicator Nccl { get; }

    public IGpuTrainingSession Session => _session;

    /// <inheritdoc/>
    public string Description =>
        string.Create(CultureInfo.InvariantCulture, $"NCCL all-reduce over {Nccl.Library}, 1 bucket of {_session.ParameterGradients.Length:N0} floats (the gradient arena)");

    /// <inheritdoc/>
    public TimeSpan AllreduceTime { get; private set; }

    /// <inheritdoc/>
    public int AllreduceCount { get; private set; }

    /// <summary>
    /// Checks the replicas again and broadcasts rank 0's parameters and optimizer state: after every rank has loaded a
    /// checkpoint to resume (<see cref="Load"/> does it).
    /// </summary>
    public void Synchronize()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckReplicas();
        BroadcastFromRoot();
    }

    /// <inheritdoc/>
    public float Step(float localLoss, int localRows)
    {
        float loss = AverageGradients(localLoss, localRows);
        _session.ApplyGradients();
        return loss;
    }

    /// <summary>
    /// Replaces the gradient arena (this rank's mean over <paramref name="localRows"/> rows) by the mean over the global
    /// batch, identical on every GPU; returns the global mean loss.
    /// </summary>
    public float AverageGradients(float localLoss, int localRows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(localRows);
        int step = _session.Model.Step + 1;
        long start = Stopwatch.GetTimestamp();
        Span<double> totals = [localRows, localLoss * (double)localRows];
        World.AllreduceSum(totals, $"rows and loss of step {step}");
        if (!(totals[0] > 0))
            throw new InvalidOperationException($"rank {World.Rank}: step {step} has no rows on any rank.");
        var gradients = _session.ParameterGradients;
        if (localRows != totals[0])
        {
            float share = (float)(localRows / totals[0]);
            var arguments = new KernelArguments();
            arguments.Add(checked((int)gradients.Length));
            arguments.Add(gradients);
            arguments.Add(share);
            _scale.Launch(Grid.Elements(gradients.Length), Grid.Block, ref arguments);
        }
        Nccl.AllReduceSum(gradients.Pointer, gradients.Length, $"gradients of step {step}");
        AllreduceTime += Stopwatch.GetElapsedTime(start);
        AllreduceCount++;
        return (float)(totals[1] / totals[0]);
    }

    /// <inheritdoc/>
    public void ReduceSums(Span<double> values, string what) => World.AllreduceSum(values, what);

    /// <summary>Rank 0 copies the device state to the host and writes the checkpoint atomically; every rank waits for it.</summary>
    public void Save(string path) => DataParallel.SaveOnRoot(World, path, p =>
    {
        _session.CopyToHost();
        _session.Model.Save(p);
    });

    /// <summary>Every rank reads <paramref name="path"/> onto its GPU, then <see cref="Synchronize"/> makes rank 0's the truth.</summary>
    public void Load(string path)
    {
        _session.Model.Load(path);
        _session.CopyFromHost();
        Synchronize();
    }

    /// <summary>Frees the NCCL communicator (<c>ncclCommDestroy</c>) and the scaling kernel; the session stays.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _module.Dispose();
        Nccl.Dispose();
    }

    /// <summary>Every rank must hold the same architecture (arena length, optimizer) at the same optimizer step.</summary>
    private void CheckReplicas()
    {
        long elements = _session.ParameterValues.Length * (1 + _session.OptimizerState.Count);
        var (minElements, maxElements) = World.AllreduceMinMax((int)Math.Min(int.MaxValue, elements), "parameter count check");
        if (minElements != maxElements)
            throw new DistributedException(
                $"rank {World.Rank} of {World.Size}: the ranks hold different models ({minElements} to {maxElements} parameter and optimizer-state values on the device); every rank must build the same .model.",
                World.Rank, "parameter count check");
        int step = _session.Model.Step;
        var (minStep, maxStep) = World.AllreduceMinMax(step, "optimizer step check");
        if (minStep != maxStep)
            throw new DistributedException(
                $"rank {World.Rank} of {World.Size}: the replicas are at different optimizer steps ({minStep} to {maxStep}; this rank {step}): resume every rank from the same checkpoint.",
                World.Rank, "optimizer step check");
    }

    /// <summary>Rank 0's parameters and optimizer state to every GPU; the host copies follow, and the dropout stream is the rank.</summary>
    private void BroadcastFromRoot()
    {
        var values = _session.ParameterValues;
        Nccl.Broadcast(values.Pointer, values.Length, root: 0, "initial parameters");
        var state = _session.OptimizerState;
        for (int i = 0; i < state.Count; i++) Nccl.Broadcast(state[i].Pointer, state[i].Length, root: 0, $"optimizer state {i + 1}");
        _session.ParametersChanged();
        _session.CopyToHost(); // the model's host parameters match its GPU's (Save, Evaluate on the CPU, checksums)
        _session.Model.DropoutStream = World.Rank;
    }
}
