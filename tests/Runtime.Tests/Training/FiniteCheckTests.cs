using System;
using System.Linq;
using System.Threading;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>The runtime half of issue 17's non-finite checks, thread guard and size messages.</summary>
public sealed class FiniteCheckTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(1000)]
    [InlineData(4099)]
    public void IndexOfNonFinite_finds_the_first_NaN_or_infinity_at_every_position_of_vector_body_and_tail(int length)
    {
        var values = Enumerable.Range(0, length).Select(i => (float)Math.Sin(i) * 1e30f).ToArray();
        Assert.Equal(-1, FiniteScan.IndexOfNonFinite(values));
        Assert.True(FiniteScan.AllFinite(values));
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            for (int i = 0; i < length; i += Math.Max(1, length / 37))
            {
                values[i] = bad;
                if (i + 1 < length) values[length - 1] = float.NaN; // a later bad value must not win
                Assert.Equal(i, FiniteScan.IndexOfNonFinite(values));
                values[i] = 1f;
                values[length - 1] = 1f;
            }
        }
    }

    [Fact]
    public void SumOfSquares_matches_a_double_reference_and_is_NaN_with_a_NaN_element()
    {
        var random = new Random(3);
        var values = Enumerable.Range(0, 1037).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        values[500] = -7.5f;
        double reference = values.Sum(v => (double)v * v);
        double sum = FiniteScan.SumOfSquares(values);
        Assert.Equal(reference, sum, reference * 1e-5);
        values[3] = float.NaN;
        Assert.True(double.IsNaN(FiniteScan.SumOfSquares(values)));
        values[3] = float.NegativeInfinity;
        Assert.Equal(double.PositiveInfinity, FiniteScan.SumOfSquares(values));
    }

    [Fact]
    public void Position_names_the_batch_row_and_the_column_or_position()
    {
        Assert.Equal("row 3, column 17", FiniteScan.Position([128, 784], 3 * 784 + 17));
        Assert.Equal("row 1, position [0, 2, 5]", FiniteScan.Position([2, 1, 28, 28], 784 + 2 * 28 + 5));
        Assert.Equal("row 9", FiniteScan.Position([16], 9));
    }

    [Fact]
    public void Enter_refuses_a_second_thread_naming_both_calls_and_frees_on_dispose()
    {
        var guard = new ModelGuard("M", Array.Empty<Parameter>());
        using (guard.Enter("M.TrainStep"))
        {
            InvalidOperationException? seen = null;
            var thread = new Thread(() =>
            {
                try { using var inner = guard.Enter("M.Forward"); }
                catch (InvalidOperationException e) { seen = e; }
            });
            thread.Start();
            thread.Join();
            Assert.NotNull(seen);
            Assert.Contains("M.Forward: another thread is inside M.TrainStep on this M instance", seen!.Message);
            var nested = Assert.Throws<InvalidOperationException>(() => { using var again = guard.Enter("M.Evaluate"); });
            Assert.Contains("M.Evaluate: called while M.TrainStep is still running on the same thread", nested.Message);
        }
        using (guard.Enter("M.Forward")) { } // free again
    }

    [Fact]
    public void The_update_bound_passes_ordinary_steps_without_a_pass_and_refuses_an_overflowing_sgd_step()
    {
        var p = new Parameter("w", [4], "m.model:3");
        p.Value.AsSpan().Fill(1f);
        p.Gradient.AsSpan().Fill(2f);
        var guard = new ModelGuard("M", [p]);
        guard.Gradients("M.TrainStep", 1);
        guard.Sgd("M.TrainStep", 1, 0.1f, 0f, 0f, nesterov: false); // fine
        var e = Assert.Throws<NonFiniteException>(() => guard.Sgd("M.TrainStep", 2, 3e38f, 0f, 0f, nesterov: false));
        Assert.Equal(NonFiniteSource.Update, e.Source);
        Assert.Contains("M.TrainStep (step 2): the sgd update with learning rate 3E+38 would make 'w' (m.model:3) -Infinity at element 0", e.Message);
        Assert.All(p.Value, v => Assert.Equal(1f, v));
    }

    [Fact]
    public void BufferSize_names_the_binding_and_the_buffer_instead_of_overflowing()
    {
        Assert.Equal(256 * 128, BufferSize.Elements("M", "B = 128", "'h' [B, 256]", 256d * 128));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => BufferSize.Elements("FashionMlp", "B = 33554432", "'logits_0' [B, 256]", 256d * (1 << 25)));
        Assert.Contains("FashionMlp: B = 33554432 makes buffer 'logits_0' [B, 256] 8589934592 elements, more than one array can hold", e.Message);
    }

    [Fact]
    public void MiniBatches_with_a_batch_of_2_pow_25_names_the_batch_size_and_buffer()
    {
        // The case: batch 2^25 of 784 features gave a bare OverflowException.
        var data = new Dataset(new float[4 * 784], 784, labels: new int[4]);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new MiniBatches(data, batchSize: 1 << 25, seed: 1));
        Assert.Contains("MiniBatches: batch size 33554432 makes buffer 'Features' (784 per row) 26306674688 elements", e.Message);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(-1f)]
    [InlineData(float.NegativeInfinity)]
    public void LearningRate_validation_names_the_value(float value)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Hyperparameters.LearningRate("M", value));
        Assert.Contains("M.LearningRate must be finite and >= 0", e.Message);
        Assert.Equal(0.5f, Hyperparameters.LearningRate("M", 0.5f));
    }
}
