using System;

namespace ModelDsl.Runtime.Distributed;

/// <summary>
/// Data-parallel training of one replica per rank, whatever carries the gradients: <see cref="DataParallel"/> (CPU
/// replicas, MPI) or <c>ModelDsl.Cuda.Distributed.GpuDataParallel</c> (one GPU per rank, NCCL). A training loop written
/// against this runs on either.
/// <code>
/// float loss = parallel.Step(model.ComputeGradients(x, y), batches.CurrentBatchSize);   // this rank's rows
/// </code>
/// </summary>
public interface IDataParallel
{
    /// <summary>The job's ranks (MPI): rank, size, the host collectives and the watchdog.</summary>
    MpiCommunicator World { get; }

    /// <summary>How the gradients travel, for logs: <c>MPI all-reduce, 1 bucket of 269,324 floats</c>.</summary>
    string Description { get; }

    /// <summary>
    /// After the model's <c>ComputeGradients</c> on this rank's <paramref name="localRows"/> rows: averages the gradients
    /// over the global batch, then takes the optimizer step on every replica. Returns the global batch's mean loss.
    /// </summary>
    float Step(float localLoss, int localRows);

    /// <summary>Sums <paramref name="values"/> over all ranks, in place: evaluation totals (loss sum, correct, rows).</summary>
    void ReduceSums(Span<double> values, string what);

    /// <summary>Rank 0 writes the checkpoint atomically; every rank waits for it and learns whether it worked.</summary>
    void Save(string path);

    /// <summary>Every rank reads the checkpoint, then the replicas are checked and made rank 0's.</summary>
    void Load(string path);

    /// <summary>Wall time spent in the gradient all-reduce (waiting for the slowest rank included), over <see cref="AllreduceCount"/> steps.</summary>
    TimeSpan AllreduceTime { get; }

    /// <summary>Gradient all-reduces done.</summary>
    int AllreduceCount { get; }
}
