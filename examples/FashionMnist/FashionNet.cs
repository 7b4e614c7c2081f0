using ModelDsl.Cuda;
using ModelDsl.Runtime;

namespace FashionMnistExample;

/// <summary>
/// The two Fashion-MNIST models behind one face, so the training loop is written once: FashionMlp (fashion_mlp.model)
/// and FashionCnn (fashion_cnn.model), each on the CPU or a GPU. Each member forwards to the generated class or its
/// GPU session.
/// </summary>
internal sealed class FashionNet : IDisposable
{
    private FashionNet(string name, long parameterCount, int[] sampleShape, IGpuTrainingSession? session)
    {
        Name = name;
        ParameterCount = parameterCount;
        SampleShape = sampleShape;
        Session = session;
    }

    /// <summary>The GPU session (null on the CPU): what GPU data-parallel training all-reduces.</summary>
    public IGpuTrainingSession? Session { get; }

    public string Name { get; }
    public long ParameterCount { get; }

    /// <summary>One image as the model's input wants it: [784] for the MLP, [1, 28, 28] for the CNN.</summary>
    public int[] SampleShape { get; }

    public required Func<Tensor, IntTensor, float> TrainStep { get; init; }

    /// <summary>Forward, loss and backward without the optimizer step (data-parallel training averages in between).</summary>
    public required Func<Tensor, IntTensor, float> ComputeGradients { get; init; }

    /// <summary>The generated class itself: parameters, optimizer step, checkpoints.</summary>
    public required ITrainableModel Model { get; init; }
    public required Func<Tensor, IntTensor, float> Evaluate { get; init; }
    public required Func<Tensor, Tensor> Forward { get; init; }
    public required Func<float> GetLearningRate { get; init; }
    public required Action<float> SetLearningRate { get; init; }
    public required Action<string> Save { get; init; }
    public required Action<string> Load { get; init; }

    /// <summary>A tensor over <paramref name="data"/> holding <paramref name="rows"/> images in <see cref="SampleShape"/>.</summary>
    public Tensor Batch(float[] data, int rows) => new Tensor(data, [rows, .. SampleShape]);

    public static FashionNet Create(string model, ulong seed, GpuContext? gpu) => model switch
    {
        "cnn" => Cnn(seed, gpu),
        _ => Mlp(seed, gpu),
    };

    private static FashionNet Mlp(ulong seed, GpuContext? gpu)
    {
        var model = new FashionMlp(seed);
        // The CUDA path: the same model class, its parameters copied to the device; the CPU copy is refreshed before saving.
        var session = gpu is null ? null : model.ToGpu(gpu);
        return new FashionNet(nameof(FashionMlp), FashionMlp.ParameterCount, [784], session)
        {
            TrainStep = session is null ? model.TrainStep : session.TrainStep,
            ComputeGradients = session is null ? model.ComputeGradients : session.ComputeGradients,
            Model = model,
            Evaluate = session is null ? model.Evaluate : session.Evaluate,
            Forward = session is null ? model.Forward : session.Forward,
            GetLearningRate = () => model.LearningRate,
            SetLearningRate = rate => model.LearningRate = rate,
            Save = path =>
            {
                session?.CopyToHost();
                model.Save(path);
            },
            Load = path =>
            {
                model.Load(path);
                session?.CopyFromHost();
            },
        };
    }

    private static FashionNet Cnn(ulong seed, GpuContext? gpu)
    {
        var model = new FashionCnn(seed);
        // The same as the MLP's: convolution, pooling and flatten run as the layer library's CUDA kernels and cuBLAS.
        var session = gpu is null ? null : model.ToGpu(gpu);
        return new FashionNet(nameof(FashionCnn), FashionCnn.ParameterCount, [1, 28, 28], session)
        {
            TrainStep = session is null ? model.TrainStep : session.TrainStep,
            ComputeGradients = session is null ? model.ComputeGradients : session.ComputeGradients,
            Model = model,
            Evaluate = session is null ? model.Evaluate : session.Evaluate,
            Forward = session is null ? model.Forward : session.Forward,
            GetLearningRate = () => model.LearningRate,
            SetLearningRate = rate => model.LearningRate = rate,
            Save = path =>
            {
                session?.CopyToHost();
                model.Save(path);
            },
            Load = path =>
            {
                model.Load(path);
                session?.CopyFromHost();
            },
        };
    }

    public void Dispose() => Session?.Dispose();
}
