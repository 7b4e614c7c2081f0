using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace ModelDsl.Runtime;

/// <summary>
/// The buffers of a generated CPU model's one workspace (docs/generated-code.md, "Workspace memory"). Each buffer is
/// sized for the largest binding of the symbolic dimensions it has served and reused, from its start, by every smaller
/// one: the kernels take their sizes as arguments and never read an array's length as a size. A buffer grows only when
/// a binding needs more than it holds, to exactly what that binding needs, so the memory held is at most one buffer set
/// at the largest size seen per buffer, whatever order the shapes come in. Nothing here allocates unless a buffer grows.
/// </summary>
public static class WorkspaceBuffers
{
    /// <summary>
    /// Keeps <paramref name="array"/> when it holds <paramref name="elements"/>, else replaces it with an array of exactly
    /// that many (zeros: nothing is copied). Returns the bytes added (0 when kept).
    /// </summary>
    /// <param name="model">The model class name, for the message when the binding needs more than one array can hold.</param>
    /// <param name="symbols">The symbol names (<c>B</c>, <c>T</c>) and <paramref name="bound"/> their values, for that message.</param>
    /// <param name="buffer">The buffer and its declared shape: <c>'logits_0' f32[B, 256]</c>.</param>
    public static long Fit<T>(ref T[] array, double elements, string model, ReadOnlySpan<string> symbols, ReadOnlySpan<int> bound, string buffer)
    {
        ArgumentNullException.ThrowIfNull(array);
        // In double, like BufferSize: exact below 2^53, and a product past any array's length still compares greater.
        if (elements <= array.Length) return 0;
        int length = BufferSize.Elements(model, Binding(symbols, bound), buffer, elements);
        long added = ((long)length - array.Length) * Unsafe.SizeOf<T>();
        array = null!; // the old array is garbage before the new one is allocated, for a collection the allocation may start
        array = new T[length];
        return added;
    }

    /// <summary>
    /// A tensor with its own array (an output that is not a workspace buffer, <c>Predicted</c>): reshaped in place when its
    /// array holds <paramref name="shape"/>, else a new tensor with an array of exactly that size. Returns the bytes added.
    /// </summary>
    public static long Fit([AllowNull, NotNull] ref Tensor tensor, ReadOnlySpan<int> shape, string model, ReadOnlySpan<string> symbols, ReadOnlySpan<int> bound, string buffer)
    {
        double elements = Elements(shape);
        if (tensor is not null && elements <= tensor.Data.Length)
        {
            tensor.SetShape(shape);
            return 0;
        }
        var data = Array.Empty<float>();
        long added = Fit(ref data, elements, model, symbols, bound, buffer) - 4L * (tensor?.Data.Length ?? 0);
        tensor = new Tensor(data, shape.ToArray());
        return added;
    }

    /// <summary>As above for an i32 tensor (<c>Predicted</c>).</summary>
    public static long Fit([AllowNull, NotNull] ref IntTensor tensor, ReadOnlySpan<int> shape, string model, ReadOnlySpan<string> symbols, ReadOnlySpan<int> bound, string buffer)
    {
        double elements = Elements(shape);
        if (tensor is not null && elements <= tensor.Data.Length)
        {
            tensor.SetShape(shape);
            return 0;
        }
        var data = Array.Empty<int>();
        long added = Fit(ref data, elements, model, symbols, bound, buffer) - 4L * (tensor?.Data.Length ?? 0);
        tensor = new IntTensor(data, shape.ToArray());
        return added;
    }

    /// <summary>
    /// A tensor over a workspace buffer (an output): the same tensor with <paramref name="shape"/> set in place when it
    /// already wraps <paramref name="data"/> (nothing allocated), else a new one over it (the buffer grew).
    /// </summary>
    public static void View([AllowNull, NotNull] ref Tensor tensor, float[] data, ReadOnlySpan<int> shape)
    {
        if (tensor is not null && ReferenceEquals(tensor.Data, data)) tensor.SetShape(shape);
        else tensor = new Tensor(data, shape.ToArray());
    }

    /// <summary>
    /// Sets <paramref name="shape"/> on a tensor over a workspace buffer in place when its array holds it (the tensors
    /// <c>ForwardAll</c> returns); false when it does not, and the caller makes a new one.
    /// </summary>
    public static bool Reshape(Tensor tensor, ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (Elements(shape) > tensor.Data.Length) return false;
        tensor.SetShape(shape);
        return true;
    }

    /// <summary>A new tensor with an array of its own, of exactly <paramref name="shape"/> (an output that is no workspace buffer).</summary>
    public static Tensor Own(ReadOnlySpan<int> shape, string model, ReadOnlySpan<string> symbols, ReadOnlySpan<int> bound, string buffer)
    {
        var data = Array.Empty<float>();
        Fit(ref data, Elements(shape), model, symbols, bound, buffer);
        return new Tensor(data, shape.ToArray());
    }

    private static double Elements(ReadOnlySpan<int> shape)
    {
        double elements = 1;
        foreach (int d in shape) elements *= d;
        return elements;
    }

    /// <summary><c>B = 16, T = 128</c>, or <c>the declared shapes</c> for a model without symbols: only for a message.</summary>
    private static string Binding(ReadOnlySpan<string> symbols, ReadOnlySpan<int> bound)
    {
        if (symbols.Length == 0) return "the declared shapes";
        var text = new StringBuilder();
        for (int i = 0; i < symbols.Length; i++)
        {
            if (i > 0) text.Append(", ");
            text.Append(symbols[i]).Append(" = ").Append(bound[i].ToString(CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }
}
