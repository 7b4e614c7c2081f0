using ModelDsl.Cuda;
using ModelDsl.Cuda.Distributed;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Distributed;

namespace ModelDsl.DistributedRun;

/// <summary>
/// One of dist_models.model's models on the CPU (<paramref name="Session"/> null) or as a GPU session (the emulator, or
/// a GPU): the calls a training loop makes, the same for both.
/// </summary>
internal sealed record Replica(ITrainableModel Model, Func<Tensor, IntTensor, float> ComputeGradients, Func<Tensor, IntTensor, float> Evaluate, IGpuTrainingSession? Session)
    : IDisposable
{
    public static Replica Create(string model, ulong seed, GpuContext? gpu) => model switch
    {
        "adam" => Of(new DistAdam(seed), gpu),
        "sgd" => Of(new DistSgd(seed), gpu),
        "dropout" => Of(new DistDropout(seed), gpu),
        _ => throw new ArgumentException($"unknown model '{model}'"),
    };

    private static Replica Of(DistAdam m, GpuContext? gpu) => gpu is null ? new(m, m.ComputeGradients, m.Evaluate, null) : Of(m, m.ToGpu(gpu));
    private static Replica Of(DistAdam m, DistAdam.Gpu s) => new(m, s.ComputeGradients, s.Evaluate, s);
    private static Replica Of(DistSgd m, GpuContext? gpu) => gpu is null ? new(m, m.ComputeGradients, m.Evaluate, null) : Of(m, m.ToGpu(gpu));
    private static Replica Of(DistSgd m, DistSgd.Gpu s) => new(m, s.ComputeGradients, s.Evaluate, s);
    private static Replica Of(DistDropout m, GpuContext? gpu) => gpu is null ? new(m, m.ComputeGradients, m.Evaluate, null) : Of(m, m.ToGpu(gpu));
    private static Replica Of(DistDropout m, DistDropout.Gpu s) => new(m, s.ComputeGradients, s.Evaluate, s);

    /// <summary>The data-parallel wrapper of this replica: NCCL for a GPU session, MPI for the CPU model.</summary>
    public IDataParallel Parallel(MpiCommunicator world, int bucketBytes) =>
        Session is { } session ? new GpuDataParallel(session, world) : new DataParallel(Model, world, bucketBytes);

    public void ApplyGradients()
    {
        if (Session is { } session) session.ApplyGradients();
        else Model.ApplyGradients();
    }

    public void Save(string path)
    {
        Session?.CopyToHost();
        Model.Save(path);
    }

    public void Load(string path)
    {
        Model.Load(path);
        Session?.CopyFromHost();
    }

    /// <summary>The host copy of the parameters brought up to date (a GPU session's live on the device).</summary>
    public IReadOnlyList<Parameter> HostParameters()
    {
        Session?.CopyToHost();
        return Model.Parameters;
    }

    public void Dispose() => Session?.Dispose();
}
