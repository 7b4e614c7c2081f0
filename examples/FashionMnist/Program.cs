// Trains FashionMlp (fashion_mlp.model, AdamW) or, with --model cnn, FashionCnn (fashion_cnn.model: 2 conv + pooling,
// Adam) on Fashion-MNIST with the optimizer the .model file declares.
//
//   dotnet run --project examples/FashionMnist -c Release -- [data-folder] [--epochs N] [--batch N] [--seed N]
//                                                            [--patience N] [--save file] [--plot file.png]
//                                                            [--device cpu|cuda|emulated] [--model mlp|cnn]
//                                                            [--validation F]
//
// Data: the folder given, else /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist), else the
// small sample shipped in examples/FashionMnist/sample. Progress: a live bar per epoch on a terminal, one line per
// epoch in logs. --validation (default 0.1) of the training images are held out (a seeded random choice): early
// stopping, the best epoch and the curves' validation columns use them, never the test set. Writes the loss/accuracy curves to --plot (default runs/fashion_<model>_curves.png); with --save, keeps
// the best epoch's checkpoint there and ends with it loaded. Ends with the line "test accuracy: 0.XXXX", measured once
// on the test set after training and selection.
// --device cuda trains on the first NVIDIA GPU (the generated CUDA kernels, cuBLAS); --device emulated runs the same
// CUDA C on the CPU emulator (slow: it exists to check the kernels without a GPU). docs/cuda.md.
// --distributed trains data-parallel, one replica per MPI rank (docs/distributed.md): on the CPU, the gradients
// averaged over MPI; with --device cuda, one GPU per rank (device = the rank's local rank), over NCCL:
//   mpirun -np 2 dotnet run --project examples/FashionMnist -c Release -- --distributed
//   mpirun -np 4 dotnet run --project examples/FashionMnist -c Release -- --distributed --device cuda
// --batch is then the global batch, split over the ranks; rank 0 prints, plots and writes the checkpoint.
// --threads N: CPU threads per process (default: every core, or the cores shared out among the ranks on a machine).
using FashionMnistExample;
using ModelDsl.Cuda;
using ModelDsl.Cuda.Distributed;
using ModelDsl.Examples;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Cpu;
using ModelDsl.Runtime.Data;
using ModelDsl.Runtime.Distributed;
using ModelDsl.Training;

ExampleErrors.Install();
var options = Options.Parse(args);
if (options is null) return 2;
// Output paths first: a bad one should cost a second, not an epoch of training.
if (((options.SavePath is { } savePath ? ExampleErrors.CheckCheckpointPath("--save", savePath) : null)
    ?? ExampleErrors.CheckOutputFile("--plot", options.PlotPath)) is { } badPath)
    return ExampleErrors.Fail(badPath);

MpiCommunicator? world = null;
if (options.Distributed)
{
    try
    {
        world = MpiCommunicator.Initialize();
    }
    catch (DistributedUnavailableException ex)
    {
        Console.Error.WriteLine($"error: {ex.Message}");
        return 1;
    }
}
try
{
    return Train(options, world);
}
catch (DistributedException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    world?.Dispose(); // MPI_Abort: the other ranks may be waiting in a collective
    return 1;
}
catch (Exception ex) when (world is not null)
{
    // Any other failure on one rank (a non-finite loss, an I/O error) would leave the others waiting in their next
    // collective until the watchdog's timeout, and MPI_Finalize would wait for them: end the whole job now.
    Console.Error.WriteLine($"error: rank {world.Rank} of {world.Size}: {ex.Message}");
    world.Abort(1);
    return 1;
}
finally
{
    world?.Dispose();
}

static int Train(Options options, MpiCommunicator? world)
{
    int rank = world?.Rank ?? 0, ranks = world?.Size ?? 1;
    // Ranks sharing a machine share its cores: one rank per core and a thread each would be PyTorch's layout.
    int? threads = options.Threads ?? (world is null ? null : Math.Max(1, Environment.ProcessorCount / MpiCommunicator.RanksOnThisMachine));
    if (threads is { } n) CpuWorkers.Configure(n);
    // Rank 0 speaks for the job; the others train silently.
    var log = rank == 0 ? Console.Out : TextWriter.Null;

    FashionMnistData data;
    try
    {
        data = FashionMnist.Load(options.DataFolder);
    }
    catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"error: {ex.Message}");
        return 1;
    }
    log.WriteLine($"data: {data.Folder}");
    log.WriteLine($"      {data.Train.Count:N0} training and {data.Test.Count:N0} test images of {data.Train.Height}x{data.Train.Width}");
    // Selection (early stopping, best epoch) on rows held out of the training set, like Keras' validation_split;
    // the test set is measured once, at the end. The same split on every rank (it depends only on the seed).
    var (train, validation) = ValidationSplit.Split(data.Train, options.Validation, seed: (int)options.Seed);
    log.WriteLine($"      {train.Count:N0} to train on, {validation.Count:N0} held out for validation");

    // The sample is small: more passes over it, so the run still shows learning.
    int epochs = options.Epochs ?? (data.Train.Count >= 50_000 ? 12 : 30);
    GpuContext? gpu;
    FashionNet net;
    try
    {
        // One GPU per rank: each rank of a machine takes the GPU of its local rank.
        gpu = world is not null && options.Device == "cuda" ? GpuContext.OpenCuda(MpiCommunicator.LocalRank) : GpuContext.ForDevice(options.Device);
        net = FashionNet.Create(options.Model, options.Seed, gpu);
    }
    catch (CudaUnavailableException ex)
    {
        Console.Error.WriteLine($"error: {ex.Message}");
        return 1;
    }
    using var device = gpu;
    using var _ = net;
    // Data-parallel: rank 0's initial weights on every rank, gradients averaged before each optimizer step; on GPUs
    // over NCCL (GpuDataParallel), on the CPU over MPI (DataParallel).
    IDataParallel? parallel;
    try
    {
        parallel = world is null ? null : net.Session is { } session ? new GpuDataParallel(session, world) : new DataParallel(net.Model, world);
    }
    catch (DistributedUnavailableException ex)
    {
        Console.Error.WriteLine($"error: {ex.Message}");
        return 1;
    }
    using var __ = parallel as IDisposable;
    if (world is not null)
    {
        log.WriteLine($"distributed: {ranks} ranks over {world.Library}, {(gpu is null ? $"{CpuWorkers.ThreadCount} thread(s)" : "one GPU")} each; global batch {options.BatchSize}");
        log.WriteLine($"gradients: {parallel!.Description}");
    }
    log.WriteLine($"model: {net.Name}, {net.ParameterCount:N0} parameters; {epochs} epochs of batch {options.BatchSize}");
    log.WriteLine($"device: {gpu?.DeviceName ?? "CPU"}");

    // Each rank takes its share of every global batch (the same shuffled order on every rank).
    var batches = new MiniBatches(train, options.BatchSize, seed: (int)options.Seed, rank: rank, ranks: ranks);
    var x = net.Batch(batches.Features, batches.Labels.Length);
    var y = new IntTensor(batches.Labels, batches.Labels.Length);
    // Each rank evaluates its share of the validation rows (and, at the end, of the test set).
    Action<Span<double>>? reduce = parallel is null ? null : totals => parallel.ReduceSums(totals, "evaluation totals");
    var evaluation = new Evaluation(validation, batchSize: 1000, net.Batch, rank, ranks, reduce);

    var trainer = new Trainer
    {
        Epochs = epochs,
        Patience = options.Patience,
        // Cosine decay from the .model file's learning rate to a tenth of it over the run.
        Schedule = LearningRateSchedule.Cosine(net.GetLearningRate(), epochs, net.SetLearningRate),
        // Data-parallel: rank 0 writes (atomically), every rank waits for it; a restore loads on every rank.
        Checkpoint = options.SavePath is { } path
            ? new BestCheckpoint(path, parallel is null ? net.Save : parallel.Save, Restore: parallel is null ? net.Load : parallel.Load)
            : null,
        // Under mpirun plain lines from rank 0 only (mpirun relays every rank's output, through a pseudo-terminal).
        Display = world is null ? TrainerDisplay.Auto : rank == 0 ? TrainerDisplay.Plain : TrainerDisplay.None,
    };
    var history = trainer.Run(batches,
        trainStep: b =>
        {
            x.SetBatch(b.CurrentBatchSize);
            y.SetBatch(b.CurrentBatchSize);
            return parallel is null ? net.TrainStep(x, y) : parallel.Step(net.ComputeGradients(x, y), b.CurrentBatchSize);
        },
        evaluate: () => evaluation.Run(net.Evaluate, net.Forward));

    if (rank == 0) history.SavePlot(options.PlotPath);
    log.WriteLine($"trained in {history.TotalSeconds:F1} s; curves in {options.PlotPath}");
    if (parallel is { AllreduceCount: > 0 })
        log.WriteLine($"gradient all-reduce on rank 0: {parallel.AllreduceTime.TotalMilliseconds / parallel.AllreduceCount:F2} ms per step (slowest rank's wait included)");
    if (options.SavePath is not null)
        log.WriteLine($"saved the best epoch ({history.BestEpoch?.Epoch}) to {options.SavePath}");
    if (history.BestEpoch is { } best)
        log.WriteLine($"validation accuracy: {best.Metric:F4} (best epoch {best.Epoch}{(history.Restored ? ", restored" : "")})");
    // The test set, once, after selection.
    var (_, accuracy) = new Evaluation(data.Test, batchSize: 1000, net.Batch, rank, ranks, reduce).Run(net.Evaluate, net.Forward);
    log.WriteLine($"test accuracy: {accuracy:F4}");
    return 0;
}
