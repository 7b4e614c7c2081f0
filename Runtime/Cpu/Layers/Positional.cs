using System;
using System.Numerics.Tensors;

namespace ModelDsl.Runtime.Cpu.Layers;

// positional(max_len) on [B, T, d]: a learned table row added per position (GPT-2's wpe), T ≤ max_len:
//   x [B, T, d]   table [max_len, d]   y [B, T, d],  y[b, t] = x[b, t] + table[t]
// Backward: dx (+)= dy (the add passes the gradient through);  dTable[t] (+)= Σ_b dy[b, t], rows t ≥ T get zero
// (or keep their value when accumulating).
public static class Positional
{
    /// <summary><c>y[b, t, :] = x[b, t, :] + table[t, :]</c>. <paramref name="y"/> may be <paramref name="x"/> itself.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="steps"/> is more than <paramref name="maxLength"/>.</exception>
    public static void Forward(int batch, int steps, int maxLength, int dim, ReadOnlySpan<float> x, ReadOnlySpan<float> table, Span<float> y)
    {
        Check(batch, steps, maxLength, dim, x.Length, nameof(x), table.Length, nameof(table));
        LayerArgs.Length(y.Length, nameof(y), "[B, T, d]", batch, steps, dim);
        int row = steps * dim;
        var rows = table.Slice(0, row);
        for (int b = 0; b < batch; b++)
            TensorPrimitives.Add(x.Slice(b * row, row), rows, y.Slice(b * row, row));
    }

    /// <summary>
    /// <c>dx (+)= dy</c> (an empty <paramref name="dx"/> skips it) and <c>dTable[t] (+)= Σ_b dy[b, t]</c>; without
    /// <paramref name="accumulateTableGradient"/> the rows no position reaches (t ≥ T) are zeroed.
    /// </summary>
    public static void Backward(int batch, int steps, int maxLength, int dim, ReadOnlySpan<float> dy, Span<float> dx, Span<float> dTable,
        bool accumulateInputGradient = false, bool accumulateTableGradient = false)
    {
        Check(batch, steps, maxLength, dim, dy.Length, nameof(dy), dTable.Length, nameof(dTable));
        LayerArgs.OptionalLength(dx.Length, nameof(dx), "[B, T, d]", batch, steps, dim);
        int row = steps * dim;
        var rows = dTable.Slice(0, row);
        if (!accumulateTableGradient) dTable.Slice(0, maxLength * dim).Clear();
        for (int b = 0; b < batch; b++)
        {
            var g = dy.Slice(b * row, row);
            TensorPrimitives.Add(rows, g, rows);
            if (dx.IsEmpty) continue;
            var d = dx.Slice(b * row, row);
            if (accumulateInputGradient) TensorPrimitives.Add(d, g, d);
            else g.CopyTo(d);
        }
    }

    private static void Check(int batch, int steps, int maxLength, int dim, int length, string name, int tableLength, string tableName)
    {
        LayerArgs.Positive(batch, nameof(batch));
        LayerArgs.Positive(steps, nameof(steps));
        LayerArgs.Positive(maxLength, nameof(maxLength));
        LayerArgs.Positive(dim, nameof(dim));
        if (steps > maxLength)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"The sequence has {steps} positions but the positional table holds {maxLength}.");
        LayerArgs.Size((long)batch * steps * dim, "The positional input");
        LayerArgs.Size((long)maxLength * dim, "The positional table");
        LayerArgs.Length(length, name, "[B, T, d]", batch, steps, dim);
        LayerArgs.Length(tableLength, tableName, "[max_len, d]", maxLength, dim);
    }
}
