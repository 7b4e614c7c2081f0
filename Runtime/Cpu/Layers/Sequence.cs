using System;
using System.Numerics.Tensors;

namespace ModelDsl.Runtime.Cpu.Layers;

// Column blocks of [B, T, ·] sequences, optionally reversed in time: what a bidirectional recurrent layer (lstm or gru with
// bidirectional=true) needs around its two single-direction passes (BidirectionalLayout):
//   the input reversed for the reverse direction        x [B, T, In] → x_rev[b, T−1−t] = x[b, t]
//   the joined output                                   y[b, t, 0:H] = h_fwd[b, t],  y[b, t, H:2H] = h_rev[b, T−1−t]
//   the output gradient split per direction, and the reverse direction's input gradient added back in time order.
public static class Sequence
{
    /// <summary>
    /// <c>y[b, t', yOffset + c] (+)= x[b, t, xOffset + c]</c> for <c>c &lt; width</c>, with <c>t' = T − 1 − t</c> when
    /// <paramref name="reverse"/>, else <c>t</c>; x is [B, T, xWidth] and y [B, T, yWidth]. y must not overlap x.
    /// </summary>
    public static void Copy(int batch, int steps, int width, int xWidth, int xOffset, int yWidth, int yOffset,
        ReadOnlySpan<float> x, Span<float> y, bool reverse = false, bool accumulate = false)
    {
        LayerArgs.Positive(batch, nameof(batch));
        LayerArgs.Positive(steps, nameof(steps));
        LayerArgs.Positive(width, nameof(width));
        Fits(width, xWidth, xOffset, nameof(xOffset));
        Fits(width, yWidth, yOffset, nameof(yOffset));
        LayerArgs.Length(x.Length, nameof(x), "[B, T, xWidth]", batch, steps, xWidth);
        LayerArgs.Length(y.Length, nameof(y), "[B, T, yWidth]", batch, steps, yWidth);
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < steps; t++)
            {
                int target = reverse ? steps - 1 - t : t;
                var source = x.Slice((b * steps + t) * xWidth + xOffset, width);
                var destination = y.Slice((b * steps + target) * yWidth + yOffset, width);
                if (accumulate) TensorPrimitives.Add(destination, source, destination);
                else source.CopyTo(destination);
            }
        }
    }

    private static void Fits(int width, int rowWidth, int offset, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset, name);
        if ((long)offset + width > rowWidth)
            throw new ArgumentOutOfRangeException(name, offset, $"columns [{offset}, {(long)offset + width}) do not fit in rows of {rowWidth}.");
    }
}

/// <summary>
/// The working memory of a bidirectional lstm or gru (floats), after the two directions' own working memories:
/// <c>forward | reverse | x_rev [B, T, In] | h_fwd [B, T, H] | h_rev [B, T, H] | last_fwd [B, H] | last_rev [B, H] |
/// dh_fwd [B, T, H] | dh_rev [B, T, H] | dx_rev [B, T, In]</c>. The reverse direction runs the single-direction kernel
/// on x_rev, so its states are in reversed time (h_rev[b, s] is the state after x[b, T−1], …, x[b, T−1−s]) and its
/// last state is the one at t = 0. The backward splits the output gradient into dh_fwd and dh_rev (the last states'
/// gradients into last_fwd and last_rev) and adds dx_rev to dx in time order. The CUDA launchers use the same layout.
/// </summary>
public readonly struct BidirectionalLayout
{
    public BidirectionalLayout(int batch, int steps, int inputSize, int hidden, int directionWorkspace)
    {
        long bti = (long)batch * steps * inputSize, bth = (long)batch * steps * hidden, bh = (long)batch * hidden;
        ReverseWorkspace = directionWorkspace;
        ReversedInput = 2L * directionWorkspace;
        ForwardStates = ReversedInput + bti;
        ReverseStates = ForwardStates + bth;
        ForwardLast = ReverseStates + bth;
        ReverseLast = ForwardLast + bh;
        ForwardStatesGradient = ReverseLast + bh;
        ReverseStatesGradient = ForwardStatesGradient + bth;
        ReversedInputGradient = ReverseStatesGradient + bth;
        Size = LayerArgs.Size(ReversedInputGradient + bti, "The bidirectional workspace");
        DirectionWorkspace = directionWorkspace;
    }

    /// <summary>Floats of each direction's own working memory; the forward direction's starts at 0.</summary>
    public int DirectionWorkspace { get; }
    public long ReverseWorkspace { get; }
    public long ReversedInput { get; }
    public long ForwardStates { get; }
    public long ReverseStates { get; }
    public long ForwardLast { get; }
    public long ReverseLast { get; }
    public long ForwardStatesGradient { get; }
    public long ReverseStatesGradient { get; }
    public long ReversedInputGradient { get; }

    /// <summary>The whole working memory, in floats.</summary>
    public int Size { get; }
}
