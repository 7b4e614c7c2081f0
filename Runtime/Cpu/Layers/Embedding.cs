using System;
using System.Numerics.Tensors;

namespace ModelDsl.Runtime.Cpu.Layers;

// embedding(num, dim, padding_idx) on i32 ids:
//   ids [count] (the input's elements, any shape [...] flattened)   weight [num, dim]   y [count, dim] (= [..., dim])
// Forward: y[i] = weight[ids[i]]                           (gather)
// Backward: dWeight[ids[i]] += dy[i] for every i           (scatter-add; a repeated id adds up)
//           except ids equal to paddingIdx (PyTorch's padding_idx: that row gets no gradient; -1 for none)
// Every id is checked before anything is written: one outside [0, num) throws, naming the id and its position.
public static class Embedding
{
    /// <summary><c>y[i, :] = weight[ids[i], :]</c> for i in [0, <paramref name="count"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, num); the message names the id and its position. Nothing is written.</exception>
    public static void Forward(int count, int num, int dim, ReadOnlySpan<int> ids, ReadOnlySpan<float> weight, Span<float> y)
    {
        CheckArguments(count, num, dim, ids, weight.Length, nameof(weight));
        LayerArgs.Length(y.Length, nameof(y), "[count, dim]", count, dim);
        for (int i = 0; i < count; i++)
            weight.Slice(ids[i] * dim, dim).CopyTo(y.Slice(i * dim, dim));
    }

    /// <summary>
    /// <c>dWeight[ids[i], :] += dy[i, :]</c>; rows no id selects get zero gradient (or keep their value when
    /// <paramref name="accumulate"/> is set, for a weight tied to another layer). Ids equal to <paramref name="paddingIdx"/>
    /// (in [0, num), or -1 for none) add nothing, so that row's gradient stays zero (or unchanged when accumulating).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, num), or paddingIdx outside [-1, num); the message names the id and its position. Nothing is written.</exception>
    public static void Backward(int count, int num, int dim, int paddingIdx, ReadOnlySpan<int> ids, ReadOnlySpan<float> dy, Span<float> dWeight,
        bool accumulate = false)
    {
        CheckArguments(count, num, dim, ids, dWeight.Length, nameof(dWeight));
        if (paddingIdx < -1 || paddingIdx >= num)
            throw new ArgumentOutOfRangeException(nameof(paddingIdx), paddingIdx, $"paddingIdx must be in [0, {num}) or -1 for none.");
        LayerArgs.Length(dy.Length, nameof(dy), "[count, dim]", count, dim);
        if (!accumulate) dWeight.Slice(0, num * dim).Clear();
        for (int i = 0; i < count; i++)
        {
            if (ids[i] == paddingIdx) continue;
            var row = dWeight.Slice(ids[i] * dim, dim);
            TensorPrimitives.Add(row, dy.Slice(i * dim, dim), row);
        }
    }

    private static void CheckArguments(int count, int num, int dim, ReadOnlySpan<int> ids, int tableLength, string tableName)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        LayerArgs.Positive(num, nameof(num));
        LayerArgs.Positive(dim, nameof(dim));
        LayerArgs.Length(ids.Length, nameof(ids), "[count]", count);
        LayerArgs.Length(tableLength, tableName, "[num, dim]", num, dim);
        for (int i = 0; i < count; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)num) ThrowId(i, id, num);
        }
    }

    private static void ThrowId(int position, int id, int num) =>
        throw new ArgumentOutOfRangeException("ids", id, $"Embedding id {id} at position {position} is outside [0, {num}).");
}
