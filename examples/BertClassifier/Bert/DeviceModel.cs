using ModelDsl.Cuda;
using ModelDsl.Runtime;

namespace BertClassifierExample.Bert;

/// <summary>
/// BertClassifier where <c>--device</c> puts it: the CPU model itself, or its generated GPU session (a CUDA device, or
/// the CPU emulator running the same CUDA C). Training, prediction and the encoder's output go through here. The host
/// copy (<see cref="Model"/>'s Parameters, what Save, LoadPretrained and ExportOnnx read) is brought up to date with
/// <see cref="CopyToHost"/>, and host changes are sent back with <see cref="CopyFromHost"/>.
/// </summary>
internal sealed class DeviceModel : IDisposable
{
    private readonly BertClassifier.Gpu? _session;

    /// <summary>Puts <paramref name="model"/> on <paramref name="gpu"/> (null: the CPU); the session copies its current values.</summary>
    public DeviceModel(BertClassifier model, GpuContext? gpu)
    {
        Model = model;
        _session = gpu is null ? null : model.ToGpu(gpu);
    }

    /// <summary>The model (on a GPU, its host copy; LearningRate, TotalSteps and Step are shared with the session).</summary>
    public BertClassifier Model { get; }

    public float TrainStep(IntTensor ids, IntTensor segment, IntTensor mask, IntTensor labels) =>
        _session is null ? Model.TrainStep(ids, segment, mask, labels) : _session.TrainStep(ids, segment, mask, labels);

    /// <summary>The predicted class of each row (dropout off).</summary>
    public IntTensor Predict(IntTensor ids, IntTensor segment, IntTensor mask) =>
        _session is null ? Model.Predict(ids, segment, mask) : _session.Predict(ids, segment, mask);

    /// <summary>
    /// Both outputs (dropout off): logits [B, 2] and the encoder's last hidden state [B, T, 384], model.onnx's
    /// last_hidden_state. The tensors belong to the model's workspace for this shape: read them before the next call.
    /// </summary>
    public BertClassifier.BertClassifierOutputs ForwardAll(IntTensor ids, IntTensor segment, IntTensor mask) =>
        _session is null ? Model.ForwardAll(ids, segment, mask) : _session.ForwardAll(ids, segment, mask);

    /// <summary>
    /// Sizes the CPU model's one workspace for batches of up to <paramref name="batch"/> rows of <paramref name="length"/>
    /// tokens, so the length-bucketed batches (a new T nearly every step) reuse it and never grow it (docs/generated-code.md,
    /// "Workspace memory"). The GPU session keeps a workspace per recent shape instead: nothing to do there.
    /// </summary>
    public void ReserveWorkspace(int batch, int length)
    {
        if (_session is null) Model.ReserveWorkspace(batch, length);
    }

    /// <summary>The device's parameters into <see cref="Model"/>'s (nothing to do on the CPU).</summary>
    public void CopyToHost() => _session?.CopyToHost();

    /// <summary><see cref="Model"/>'s parameters onto the device (nothing to do on the CPU).</summary>
    public void CopyFromHost() => _session?.CopyFromHost();

    public void Dispose() => _session?.Dispose();
}
