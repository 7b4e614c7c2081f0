using System;
using ModelDsl.Runtime;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>
/// The helpers behind a generated CPU model's one workspace: a buffer grows only when a binding needs more than it holds
/// (to exactly that), the output tensors are reshaped in place, and a binding too large names itself and the buffer.
/// </summary>
public sealed class WorkspaceBuffersTests
{
    [Fact]
    public void Fit_keeps_an_array_that_holds_the_binding_and_grows_one_that_does_not_to_exactly_what_it_needs()
    {
        var array = Array.Empty<float>();
        Assert.Equal(4L * 384 * 16 * 40, WorkspaceBuffers.Fit(ref array, 384d * 16 * 40, "M", ["B", "T"], [16, 40], "'h' [B, T, 384]"));
        Assert.Equal(384 * 16 * 40, array.Length);
        var kept = array;
        array[7] = 3f;
        Assert.Equal(0L, WorkspaceBuffers.Fit(ref array, 384d * 16 * 12, "M", ["B", "T"], [16, 12], "'h' [B, T, 384]"));
        Assert.Same(kept, array);
        Assert.Equal(3f, array[7]); // kept as it was: the kernels write what a call reads
        Assert.Equal(4L * 384 * 16 * (128 - 40), WorkspaceBuffers.Fit(ref array, 384d * 16 * 128, "M", ["B", "T"], [16, 128], "'h' [B, T, 384]"));
        Assert.Equal(384 * 16 * 128, array.Length);
    }

    [Fact]
    public void A_binding_too_large_for_an_array_names_the_model_the_binding_and_the_buffer()
    {
        var array = Array.Empty<float>();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => WorkspaceBuffers.Fit(ref array, 384d * 4096 * 2048, "Bert", ["B", "T"], [4096, 2048], "'h' [B, T, 384]"));
        Assert.StartsWith("Bert: B = 4096, T = 2048 makes buffer 'h' [B, T, 384] 3221225472 elements, more than one array can hold", e.Message);
        Assert.Empty(array);
    }

    [Fact]
    public void Output_tensors_take_a_new_shape_in_place_while_their_array_holds_it()
    {
        var data = new float[2 * 8 * 4];
        Tensor output = null!;
        WorkspaceBuffers.View(ref output, data, [2, 8, 4]);
        var first = output;
        WorkspaceBuffers.View(ref output, data, [1, 3, 4]);
        Assert.Same(first, output);
        Assert.Equal(new[] { 1, 3, 4 }, output.Shape);
        Assert.Equal(12, output.Span.Length);
        WorkspaceBuffers.View(ref output, new float[3 * 8 * 4], [3, 8, 4]); // the buffer grew: a new tensor over it
        Assert.NotSame(first, output);
        Assert.Equal(new[] { 1, 3, 4 }, first.Shape);

        Assert.True(WorkspaceBuffers.Reshape(first, [2, 2, 4]));
        Assert.False(WorkspaceBuffers.Reshape(first, [3, 8, 4]));
        Assert.Equal(new[] { 2, 2, 4 }, first.Shape);

        IntTensor predicted = null!;
        Assert.Equal(4L * 16, WorkspaceBuffers.Fit(ref predicted, [16], "M", ["B"], [16], "'Predicted' [B]"));
        var kept = predicted;
        Assert.Equal(0L, WorkspaceBuffers.Fit(ref predicted, [5], "M", ["B"], [5], "'Predicted' [B]"));
        Assert.Same(kept, predicted);
        Assert.Equal(5, predicted.Length);
        Assert.Equal(4L * (32 - 16), WorkspaceBuffers.Fit(ref predicted, [32], "M", ["B"], [32], "'Predicted' [B]"));
        Assert.Equal(32, predicted.Data.Length);
    }
}
