using System;
using System.Collections.Generic;

namespace ModelDsl.Runtime;

/// <summary>
/// The debug re-run of a step whose loss or gradients came out non-finite: the generated code clears the buffers this
/// trace lists, runs forward, loss and backward again and calls <see cref="After"/> after every kernel; the first call
/// that finds a NaN or ±∞ in any buffer records the kernel, its .model line and the buffer. Costs kernels × buffers
/// scans, so it runs only after a failure, never on the normal path.
/// </summary>
public sealed class KernelTrace
{
    private readonly (string Name, float[] Data)[] _buffers;

    /// <param name="parameters">Checked first: a non-finite parameter explains everything after it.</param>
    /// <param name="buffers">Every float activation, saved value and gradient buffer of the workspace, and each parameter's gradient; cleared here.</param>
    public KernelTrace(IReadOnlyList<Parameter> parameters, (string Name, float[] Data)[] buffers)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(buffers);
        _buffers = buffers;
        // Cleared so that a value left over from the failed run cannot be blamed on the first kernel that runs.
        foreach (var (_, data) in buffers) Array.Clear(data);
        foreach (var p in parameters)
        {
            int index = FiniteScan.IndexOfNonFinite(p.Value);
            if (index < 0) continue;
            Found = $"The parameter '{p.Name}' ({p.Source}) itself holds {FiniteScan.Describe(p.Value[index])} at element {index}.";
            return;
        }
    }

    private string? _lastOrigin;

    /// <summary>Where the first non-finite value appeared, as a sentence for the exception message; null when none did.</summary>
    public string? Found { get; private set; }

    /// <summary>
    /// <see cref="Found"/>, or when every buffer stayed finite, a sentence saying so: then the reduction to the mean loss
    /// itself overflowed (finite terms whose sum is not), at the last origin checked.
    /// </summary>
    public string Result => Found ?? $"Re-run with a check after every kernel: every buffer stayed finite, so the non-finite value arose in the loss reduction itself ({_lastOrigin}).";

    /// <summary>The kernel that ran last, if it was the first to leave a non-finite value anywhere.</summary>
    /// <param name="kernel">Its name in the generated code (<c>fwd_3_dense_relu_dropout</c>).</param>
    /// <param name="origin">Its .model line and op: <c>fashion_mlp.model:13  logits.3 = dense(units=256, bias=true) ...</c>.</param>
    public void After(string kernel, string origin)
    {
        if (kernel == "loss") _lastOrigin = "loss at " + origin;
        if (Found is not null) return;
        foreach (var (name, data) in _buffers)
        {
            int index = FiniteScan.IndexOfNonFinite(data);
            if (index < 0) continue;
            Found = $"The first non-finite value ({FiniteScan.Describe(data[index])}, '{name}' element {index}) was written by kernel {kernel} at {origin}.";
            return;
        }
    }
}
