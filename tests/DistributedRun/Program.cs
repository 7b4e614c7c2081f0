// The program tests/Distributed.Tests runs under mpirun (and alone, for the single-process reference). It trains one
// of the small models in dist_models.model on a synthetic classification problem and writes rank 0's final
// parameters, so the tests can compare runs; it can also kill or stall one rank on purpose.
//
//   DistributedRun train --model adam|sgd --steps N --batch B --out params.bin [--distributed] [--seed N] [--device cpu|emulated|cuda]
//                        [--checkpoint file --save-every K [--resume]] [--timeout seconds]
//                        [--distinct-seeds] [--die-rank R --die-step S] [--stall-rank R --stall-step S] [--bucket-bytes N]
//   DistributedRun dropout --out masks.txt [--distributed]     each rank's gradient checksum for the same batch
//   DistributedRun allreduce --distributed [--floats N] [--buckets K] [--steps N]   times the gradient all-reduce
//   DistributedRun bad-root                                    a broadcast from a rank that does not exist
//   DistributedRun overlap --distributed [--batch rows-per-rank] [--steps N] [--rounds N]   overlap's best case, timed
//   DistributedRun nccl --distributed --device emulated|cuda [--floats N] [--stall-rank R | --die-rank R]   NCCL broadcast and all-reduce
//
// Batch B is the global batch: with --distributed each of the ranks trains on its B/ranks rows of it.
// --device emulated|cuda trains the models' GPU sessions (data-parallel over NCCL: GpuDataParallel); the tests run
// the emulator with MODELDSL_NCCL_LIBRARY set to the stand-in of tests/Distributed.Tests/StandInNccl (not NCCL).
using System.Diagnostics;
using System.Globalization;
using ModelDsl.Cuda;
using ModelDsl.DistributedRun;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Distributed;

var options = RunOptions.Parse(args);
MpiCommunicator? world = null;
try
{
    if (options.Distributed) world = MpiCommunicator.Initialize(options.Timeout is { } t ? TimeSpan.FromSeconds(t) : null);
    int code = options.Mode switch
    {
        "train" => Runs.Train(options, world),
        "dropout" => Runs.DropoutStreams(options, world),
        "allreduce" => Runs.AllreduceTiming(o: options, world ?? throw new ArgumentException("allreduce needs --distributed")),
        "bad-root" => Runs.BadRoot(world ?? throw new ArgumentException("bad-root needs --distributed")),
        "nccl" => Runs.NcclCollectives(options, world ?? throw new ArgumentException("nccl needs --distributed")),
        "overlap" => Runs.Overlap(options, world ?? throw new ArgumentException("overlap needs --distributed")),
        _ => throw new ArgumentException($"unknown mode '{options.Mode}'"),
    };
    world?.Dispose();
    return code;
}
catch (Exception ex) when (ex is DistributedUnavailableException or CudaUnavailableException)
{
    // Nothing is half-way: every rank fails the same check, so the job ends without an abort.
    Console.Error.WriteLine($"error: {ex.Message}");
    world?.Dispose();
    return 1;
}
catch (DistributedException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    world?.Dispose(); // aborts the job: the other ranks may be waiting in a collective
    return 1;
}
