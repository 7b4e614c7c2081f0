using System.Linq;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Runtime.Tests.Text;

public class TextSplitTests
{
    [Fact]
    public void Hash_is_fixed_by_the_code_not_the_process()
    {
        // Pinned values: a change here moves fortunes between train and test, i.e. changes the data set.
        Assert.Equal(PinnedEmpty, TextSplit.Hash(""));
        Assert.Equal(PinnedHello, TextSplit.Hash("Hello, world"));
        Assert.Equal(PinnedAccent, TextSplit.Hash("café"));
        Assert.Equal((DataSplit.Test, DataSplit.Train), (TextSplit.Of(""), TextSplit.Of("Hello, world")));
    }

    [Fact]
    public void Split_depends_only_on_the_text()
    {
        string[] texts = Enumerable.Range(0, 5000).Select(i => $"fortune number {i}").ToArray();
        DataSplit[] first = texts.Select(TextSplit.Of).ToArray();
        DataSplit[] again = texts.Reverse().Select(TextSplit.Of).Reverse().ToArray();
        Assert.Equal(first, again);
        Assert.Equal(TextSplit.Of("x"), TextSplit.Of(new string('x', 1)));
    }

    [Fact]
    public void Split_proportions_are_80_10_10()
    {
        DataSplit[] splits = Enumerable.Range(0, 20_000).Select(i => TextSplit.Of($"text {i}")).ToArray();
        // Binomial standard deviation at n = 20000 is 0.0021 for 10 % and 0.0028 for 80 %; these bounds are 5 of them.
        Assert.InRange(splits.Count(s => s == DataSplit.Test) / 20_000.0, 0.0895, 0.1105);
        Assert.InRange(splits.Count(s => s == DataSplit.Validation) / 20_000.0, 0.0895, 0.1105);
        Assert.InRange(splits.Count(s => s == DataSplit.Train) / 20_000.0, 0.786, 0.814);
    }

    // FNV-1a 64 of the UTF-8 bytes, then SplitMix64's finaliser; checked against an independent Python version.
    private const ulong PinnedEmpty = 0xF52A15E9A9B5E89BUL;   // bucket 3: test
    private const ulong PinnedHello = 0xED699EF67E7C5FD7UL;   // bucket 51: train
    private const ulong PinnedAccent = 0xE0C13FFC340B758FUL;  // bucket 75: train
}
