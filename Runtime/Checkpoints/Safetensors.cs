using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace ModelDsl.Runtime;

/// <summary>
/// Model checkpoints as safetensors files, readable by <c>safetensors.torch.load_file</c> (see docs/checkpoints.md).
/// <list type="bullet">
/// <item>every parameter is an F32 tensor under its own name (<c>logits.0.weight</c>), in its own shape (dense weights
/// [out, in], as nn.Linear);</item>
/// <item>optimizer state, for parameters that have it, is <c>optimizer.state1.&lt;name&gt;</c> (SGD: the momentum
/// buffer; Adam/AdamW: exp_avg) and <c>optimizer.state2.&lt;name&gt;</c> (Adam/AdamW: exp_avg_sq);</item>
/// <item><c>__metadata__</c> holds <c>format</c> = <c>pt</c>, <c>modeldsl.model</c> (the model class),
/// <c>modeldsl.step</c> (the optimizer step, decimal), <c>modeldsl.learning_rate</c> (the learning rate at the time
/// of saving, round-trip decimal; written by the generated <c>Save</c>, restored by its <c>Load</c>), <c>modeldsl.total_steps</c>
/// (the total a schedule decays over when the model's <c>TotalSteps</c> sets it; likewise), <c>modeldsl.format</c> = <c>2</c> and <c>modeldsl.crc32c</c>
/// (the checksum of the header's content and the data; <see cref="SafetensorsChecksum"/>).</item>
/// <item>untrained layer state (<see cref="StateBuffer"/>: batch_norm's <c>bn.running_mean</c>, <c>bn.running_var</c>
/// F32 and <c>bn.num_batches_tracked</c> an I64 scalar) under the names of PyTorch's state_dict.</item>
/// </list>
/// Tensors are written parameters first (model order), then every state1, then every state2, then the layer state.
/// </summary>
public static class Safetensors
{
    public const string StatePrefix1 = "optimizer.state1.";
    public const string StatePrefix2 = "optimizer.state2.";
    public const string ModelKey = "modeldsl.model";
    public const string StepKey = "modeldsl.step";
    public const string LearningRateKey = "modeldsl.learning_rate";

    /// <summary>
    /// The total number of updates a schedule decays over, when the model's <c>TotalSteps</c> gives it (a <c>schedule</c>
    /// without <c>steps=</c>): saved so that a resumed run continues the same schedule.
    /// </summary>
    public const string TotalStepsKey = "modeldsl.total_steps";

    /// <summary>
    /// CRC-32C of the header's content and the data section, as 8 hex digits (<see cref="SafetensorsChecksum"/>).
    /// Safetensors itself has no checksum, so a flipped bit would load silently; ModelDsl records one in
    /// <c>__metadata__</c> (other readers ignore it) and requires it in every file that has ModelDsl metadata.
    /// Files from elsewhere have no <c>modeldsl.</c> keys and load unchecked.
    /// </summary>
    public const string ChecksumKey = "modeldsl.crc32c";

    /// <summary>The first bytes of the runtime's own <see cref="Checkpoint"/> format, which <see cref="Load"/> also reads.</summary>
    private static ReadOnlySpan<byte> CheckpointMagic => "MDLCKPT1"u8;

    /// <summary>
    /// Writes the parameters, their optimizer state and <paramref name="optimizerStep"/> atomically (temporary file
    /// in the same folder, flushed, renamed over <paramref name="path"/>; on error the old file is left intact and
    /// the temporary file is deleted).
    /// </summary>
    public static void Save(string path, string modelName, IReadOnlyList<Parameter> parameters, int optimizerStep) =>
        Save(path, modelName, parameters, optimizerStep, learningRate: null);

    /// <summary>
    /// <see cref="Save(string, string, IReadOnlyList{Parameter}, int)"/> that also records the learning rate (a schedule's
    /// current value), so that a resumed run continues where it stopped; <see cref="Load(string, string, IReadOnlyList{Parameter}, out float?)"/>
    /// gives it back. It must be finite and positive.
    /// </summary>
    public static void Save(string path, string modelName, IReadOnlyList<Parameter> parameters, int optimizerStep, float? learningRate) =>
        Save(path, modelName, parameters, Array.Empty<StateBuffer>(), optimizerStep, learningRate);

    /// <summary>
    /// <see cref="Save(string, string, IReadOnlyList{Parameter}, int, float?)"/> with the model's untrained layer state
    /// (<see cref="StateBuffer"/>: batch_norm's running statistics), each under its own name after the parameters, as
    /// PyTorch's state_dict holds its buffers: f32 tensors as F32, counters as I64 scalars. <paramref name="totalSteps"/>,
    /// when given, is the total a schedule decays over (the model's <c>TotalSteps</c>, positive), recorded as
    /// <see cref="TotalStepsKey"/>.
    /// </summary>
    public static void Save(string path, string modelName, IReadOnlyList<Parameter> parameters, IReadOnlyList<StateBuffer> states, int optimizerStep, float? learningRate = null, int? totalSteps = null)
    {
        if (learningRate is float rate && !(float.IsFinite(rate) && rate > 0))
            throw new ArgumentOutOfRangeException(nameof(learningRate), rate, "the learning rate to record must be finite and positive");
        if (totalSteps is int total && total <= 0)
            throw new ArgumentOutOfRangeException(nameof(totalSteps), total, "the total steps to record must be positive (leave it out when it is not set)");
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegative(optimizerStep);
        ArgumentNullException.ThrowIfNull(states);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(optimizerStep, Checkpoint.MaxStep);
        Build(modelName, parameters, optimizerStep, learningRate, states, totalSteps).Save(path);
    }

    /// <summary>
    /// Throws what <see cref="Save"/> would throw for <paramref name="path"/> itself, without writing anything: a
    /// folder, device node or pipe there (<see cref="IOException"/>), a missing folder
    /// (<see cref="DirectoryNotFoundException"/>), a symbolic link loop. Lets a program check its output path before
    /// a long training run instead of failing at the first checkpoint. (<see cref="Checkpoint.Save"/> applies the
    /// same rules.)
    /// </summary>
    public static void CheckSavePath(string path) => AtomicFile.Check(path);

    /// <summary>The writer <see cref="Save"/> uses; the tests write through it with a failing stream.</summary>
    internal static SafetensorsWriter Build(string modelName, IReadOnlyList<Parameter> parameters, int optimizerStep, float? learningRate = null, IReadOnlyList<StateBuffer>? states = null, int? totalSteps = null)
    {
        states ??= Array.Empty<StateBuffer>();
        CheckNames(parameters, states);
        var writer = new SafetensorsWriter();
        writer.SetMetadata("format", "pt");
        writer.SetMetadata(ModelKey, modelName);
        writer.SetMetadata(StepKey, optimizerStep.ToString(CultureInfo.InvariantCulture));
        if (learningRate is float rate) writer.SetMetadata(LearningRateKey, rate.ToString("R", CultureInfo.InvariantCulture));
        if (totalSteps is int total) writer.SetMetadata(TotalStepsKey, total.ToString(CultureInfo.InvariantCulture));
        writer.SetMetadata(SafetensorsChecksum.FormatKey, SafetensorsChecksum.CurrentFormat);
        // A parameter named like another's state collides here and is refused (ArgumentException) before writing.
        foreach (Parameter p in parameters) writer.AddSingles(p.Name, p.Shape, p.Value);
        foreach (Parameter p in parameters)
            if (p.StateCount >= 1) writer.AddSingles(StatePrefix1 + p.Name, p.Shape, p.State1.AsMemory(0, (int)p.Length));
        foreach (Parameter p in parameters)
            if (p.StateCount >= 2) writer.AddSingles(StatePrefix2 + p.Name, p.Shape, p.State2.AsMemory(0, (int)p.Length));
        foreach (StateBuffer s in states)
        {
            if (s.IsCounter) writer.AddInt64s(s.Name, s.Shape, [s.Count]);
            else writer.AddSingles(s.Name, s.Shape, s.Value);
        }
        // Last: the checksum covers every other metadata entry and every tensor (the data is referenced, not copied,
        // and must not change until the file is written).
        writer.SetMetadata(ChecksumKey, SafetensorsChecksum.Of(writer).ToString("x8", CultureInfo.InvariantCulture));
        return writer;
    }

    /// <summary>
    /// Loads values (and optimizer state, where the file has it) into <paramref name="parameters"/> and returns the
    /// optimizer step (0 when the file has no <c>modeldsl.step</c>, e.g. one saved from PyTorch's state_dict).
    /// Tensors are matched by name; header order does not matter. Everything is validated first — the file's
    /// structure, the checksum (required when the file has ModelDsl metadata; it covers the header's content and the
    /// data), the model name (when the file records one), the step (0 to <see cref="Checkpoint.MaxStep"/>), then
    /// every parameter's presence, dtype (F32) and
    /// shape, the state tensors likewise, and that the file has nothing else — and read into scratch buffers; the
    /// parameters change only once all of that has passed. A parameter without state in the file gets its state
    /// zeroed, as a fresh optimizer would have it. A file in the runtime's older MDLCKPT1 format is read with
    /// <see cref="Checkpoint.Load"/>.
    /// </summary>
    /// <exception cref="IOException"><paramref name="path"/> is a folder (or cannot be read).</exception>
    /// <exception cref="InvalidDataException">
    /// Any mismatch or corruption; the message starts with <paramref name="path"/> and names the first problem:
    /// <c>fashion.safetensors: tensor 'logits.0.weight' has shape [128, 784] in the file but [256, 784] in FashionMlp</c>.
    /// </exception>
    public static int Load(string path, string modelName, IReadOnlyList<Parameter> parameters) =>
        Load(path, modelName, parameters, out _);

    /// <summary>
    /// <see cref="Load(string, string, IReadOnlyList{Parameter})"/>, also giving the learning rate the file records
    /// (<c>modeldsl.learning_rate</c>), or null when it records none (files from PyTorch, or saved before it was
    /// recorded). A recorded rate that is not a finite positive number fails the load before anything changes.
    /// </summary>
    public static int Load(string path, string modelName, IReadOnlyList<Parameter> parameters, out float? learningRate) =>
        Load(path, modelName, parameters, Array.Empty<StateBuffer>(), out learningRate);

    /// <summary>
    /// <see cref="Load(string, string, IReadOnlyList{Parameter})"/> with the model's untrained layer state: every state
    /// must be in the file under its name (F32 of its shape; a counter I64 of shape [], as PyTorch saves
    /// <c>num_batches_tracked</c>), so a PyTorch state_dict with BatchNorm buffers loads; it is validated with the
    /// parameters and changes only when everything has passed.
    /// </summary>
    public static int Load(string path, string modelName, IReadOnlyList<Parameter> parameters, IReadOnlyList<StateBuffer> states) =>
        Load(path, modelName, parameters, states, out _);

    /// <summary><see cref="Load(string, string, IReadOnlyList{Parameter}, IReadOnlyList{StateBuffer})"/>, also giving the recorded learning rate.</summary>
    public static int Load(string path, string modelName, IReadOnlyList<Parameter> parameters, IReadOnlyList<StateBuffer> states, out float? learningRate) =>
        Load(path, modelName, parameters, states, out learningRate, out _);

    /// <summary>
    /// <see cref="Load(string, string, IReadOnlyList{Parameter}, IReadOnlyList{StateBuffer}, out float?)"/>, also giving the
    /// recorded total of the schedule (<see cref="TotalStepsKey"/>), or null when the file records none. A recorded total
    /// that is not a positive integer fails the load before anything changes.
    /// </summary>
    public static int Load(string path, string modelName, IReadOnlyList<Parameter> parameters, IReadOnlyList<StateBuffer> states, out float? learningRate, out int? totalSteps)
    {
        learningRate = null;
        totalSteps = null;
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(states);
        CheckNames(parameters, states);
        Checkpoint.ThrowIfFolder(path);
        // The runtime's own older format has a magic and a version: read it rather than call it a corrupt safetensors file.
        if (StartsWith(path, CheckpointMagic))
        {
            if (states.Count > 0)
                throw Fail(path, $"the file is in the older MDLCKPT1 format, which holds no layer state ('{states[0].Name}' of {modelName}); save it again as safetensors");
            return Checkpoint.Load(path, modelName, parameters);
        }
        using SafetensorsFile file = SafetensorsFile.Open(path);

        // Checked first: the model name and step below are only meaningful once the header is known to be intact.
        SafetensorsChecksum.Verify(path, file);
        if (file.Metadata.TryGetValue(ModelKey, out string? fileModel) && fileModel != modelName)
            throw Fail(path, $"the checkpoint is of model '{fileModel}', not {modelName}");
        int step = 0;
        if (file.Metadata.TryGetValue(StepKey, out string? stepText))
        {
            if (!int.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out step))
                throw Fail(path, $"__metadata__ '{StepKey}' is \"{stepText}\", not an optimizer step (a non-negative integer)");
            if (step > Checkpoint.MaxStep)
                throw Fail(path, $"__metadata__ '{StepKey}' is {step}, out of range (0 to {Checkpoint.MaxStep}: a model at step {int.MaxValue} could not take another step)");
        }
        float? rate = null;
        if (file.Metadata.TryGetValue(LearningRateKey, out string? rateText))
        {
            if (!float.TryParse(rateText, NumberStyles.Float, CultureInfo.InvariantCulture, out float parsed) || !float.IsFinite(parsed) || parsed <= 0)
                throw Fail(path, $"__metadata__ '{LearningRateKey}' is \"{rateText}\", not a learning rate (a finite positive number)");
            rate = parsed;
        }
        int? total = null;
        if (file.Metadata.TryGetValue(TotalStepsKey, out string? totalText))
        {
            if (!int.TryParse(totalText, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed) || parsed <= 0)
                throw Fail(path, $"__metadata__ '{TotalStepsKey}' is \"{totalText}\", not a schedule's total steps (a positive integer)");
            total = parsed;
        }

        // What the model accounts for; anything else in the file is an error (reported after the model's own checks).
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (Parameter p in parameters)
        {
            expected.Add(p.Name);
            expected.Add(StatePrefix1 + p.Name);
            expected.Add(StatePrefix2 + p.Name);
        }
        foreach (StateBuffer st in states) expected.Add(st.Name);
        SafetensorsTensor? firstExtra = null;
        foreach (SafetensorsTensor t in file.Tensors)
            if (!expected.Contains(t.Name)) { firstExtra = t; break; }

        var plan = new SafetensorsTensor?[parameters.Count, 3];
        for (int i = 0; i < parameters.Count; i++)
        {
            Parameter p = parameters[i];
            if (!file.TryGetTensor(p.Name, out SafetensorsTensor value))
                throw Fail(path, $"tensor '{p.Name}' of {modelName} is missing from the file" +
                    (firstExtra is null ? "" : $" (the file has '{firstExtra.Name}', which {modelName} does not have)"));
            plan[i, 0] = Check(path, modelName, value, p);
            if (file.TryGetTensor(StatePrefix1 + p.Name, out SafetensorsTensor s1)) plan[i, 1] = Check(path, modelName, s1, p);
            if (file.TryGetTensor(StatePrefix2 + p.Name, out SafetensorsTensor s2))
            {
                if (plan[i, 1] is null)
                    throw Fail(path, $"the file has '{s2.Name}' but not '{StatePrefix1 + p.Name}' (state2 needs state1)");
                plan[i, 2] = Check(path, modelName, s2, p);
            }
        }
        var statePlan = new SafetensorsTensor[states.Count];
        for (int i = 0; i < states.Count; i++)
        {
            StateBuffer st = states[i];
            if (!file.TryGetTensor(st.Name, out SafetensorsTensor t))
                throw Fail(path, $"state '{st.Name}' of {modelName} is missing from the file" +
                    (firstExtra is null ? "" : $" (the file has '{firstExtra.Name}', which {modelName} does not have)"));
            var dtype = st.IsCounter ? SafetensorsDType.I64 : SafetensorsDType.F32;
            if (t.DType != dtype)
                throw Fail(path, $"tensor '{t.Name}' has dtype {t.DType.Name()} in the file but {dtype.Name()} in {modelName}");
            if (!t.Shape.AsSpan().SequenceEqual(st.Shape))
                throw Fail(path, $"tensor '{t.Name}' has shape {Shapes.Format(t.Shape)} in the file but {Shapes.Format(st.Shape)} in {modelName}");
            statePlan[i] = t;
        }
        if (firstExtra is not null)
            throw Fail(path, $"the file has tensor '{firstExtra.Name}', which {modelName} does not have");

        // Read into scratch so a failure here (I/O error, the file shrinking) still leaves the parameters untouched.
        var scratch = new float[parameters.Count][][];
        for (int i = 0; i < parameters.Count; i++)
        {
            int optimizerStates = plan[i, 2] is not null ? 2 : plan[i, 1] is not null ? 1 : 0;
            scratch[i] = new float[1 + optimizerStates][];
            for (int s = 0; s <= optimizerStates; s++)
            {
                scratch[i][s] = new float[parameters[i].Length];
                file.ReadSingles(plan[i, s]!, scratch[i][s]);
            }
        }

        var stateScratch = new float[states.Count][];
        var counts = new long[states.Count];
        for (int i = 0; i < states.Count; i++)
        {
            if (states[i].IsCounter) file.ReadInt64s(statePlan[i], counts.AsSpan(i, 1));
            else file.ReadSingles(statePlan[i], stateScratch[i] = new float[states[i].Length]);
        }

        for (int i = 0; i < states.Count; i++)
        {
            if (states[i].IsCounter) states[i].Count = counts[i];
            else stateScratch[i].CopyTo(states[i].Value, 0);
        }
        for (int i = 0; i < parameters.Count; i++)
        {
            Parameter p = parameters[i];
            float[][] data = scratch[i];
            data[0].CopyTo(p.Value, 0);
            p.MarkChanged();
            p.EnsureState(data.Length - 1);
            if (p.StateCount >= 1) CopyOrClear(data, 1, p.State1);
            if (p.StateCount >= 2) CopyOrClear(data, 2, p.State2);
        }
        learningRate = rate;
        totalSteps = total;
        return step;
    }

    private static SafetensorsTensor Check(string path, string modelName, SafetensorsTensor t, Parameter p)
    {
        if (t.DType != SafetensorsDType.F32)
            throw Fail(path, $"tensor '{t.Name}' has dtype {t.DType.Name()} in the file but F32 in {modelName}" +
                (t.DType is SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F64
                    ? $" (unsupported dtype {t.DType.Name()}: convert it to float32 first)" : ""));
        if (!t.Shape.AsSpan().SequenceEqual(p.Shape))
            throw Fail(path, $"tensor '{t.Name}' has shape {Shapes.Format(t.Shape)} in the file but {Shapes.Format(p.Shape)} in {modelName}");
        return t;
    }

    private static void CopyOrClear(float[][] data, int index, float[] state)
    {
        if (index < data.Length) data[index].CopyTo(state, 0);
        else Array.Clear(state);
    }

    private static void CheckNames(IReadOnlyList<Parameter> parameters, IReadOnlyList<StateBuffer>? states = null)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Parameter p in parameters)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(parameters));
            if (!names.Add(p.Name))
                throw new ArgumentException($"Parameter '{p.Name}' appears twice; checkpoints match parameters by name.", nameof(parameters));
        }
        foreach (StateBuffer st in states ?? Array.Empty<StateBuffer>())
        {
            ArgumentNullException.ThrowIfNull(st, nameof(states));
            if (!names.Add(st.Name))
                throw new ArgumentException($"State '{st.Name}' appears twice or is named like a parameter; checkpoints match tensors by name.", nameof(states));
        }
    }

    private static InvalidDataException Fail(string path, string problem) => Checkpoint.Fail(path, problem);

    private static bool StartsWith(string path, ReadOnlySpan<byte> magic)
    {
        Span<byte> first = stackalloc byte[magic.Length];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        return stream.ReadAtLeast(first, first.Length, throwOnEndOfStream: false) == first.Length && first.SequenceEqual(magic);
    }
}
