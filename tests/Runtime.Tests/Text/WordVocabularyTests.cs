using System;
using System.Linq;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Runtime.Tests.Text;

public class WordVocabularyTests
{
    [Fact]
    public void Words_are_lowercase_letter_runs()
    {
        Assert.Equal(["don", "t", "panic", "café", "ok"], WordTokenizer.Words("Don't PANIC -- 42 café,ok!"));
        Assert.Empty(WordTokenizer.Words(" 123 ... \n\t"));
    }

    [Fact]
    public void Ids_go_by_frequency_then_ordinal_with_padding_and_unknown_reserved()
    {
        var vocabulary = WordVocabulary.Build(["the cat and the dog", "The bird and THE cat"], maxWords: 3);

        Assert.Equal(["the", "and", "cat"], vocabulary.Words); // the ×4, and ×2, cat ×2 (ties: ordinal), then bird, dog cut
        Assert.Equal(5, vocabulary.Size);
        Assert.Equal((2, 3, 4), (vocabulary.Id("the"), vocabulary.Id("and"), vocabulary.Id("cat")));
        Assert.Equal(WordVocabulary.UnknownId, vocabulary.Id("dog"));
        Assert.Equal(["<pad>", "<unk>", "the"], new[] { 0, 1, 2 }.Select(vocabulary.Word));
        Assert.Throws<ArgumentOutOfRangeException>(() => vocabulary.Word(5));
    }

    [Fact]
    public void Short_texts_are_padded_at_the_start()
    {
        var vocabulary = WordVocabulary.Build(["a b c"], 10);
        var row = new int[6];
        Assert.Equal(3, vocabulary.Encode("C, b; zzz", row));
        Assert.Equal([0, 0, 0, vocabulary.Id("c"), vocabulary.Id("b"), WordVocabulary.UnknownId], row);
    }

    [Fact]
    public void Long_texts_keep_their_first_words()
    {
        var vocabulary = WordVocabulary.Build(["one two three four five"], 10);
        var row = new int[3];
        Array.Fill(row, -1);
        Assert.Equal(3, vocabulary.Encode("one two three four five", row));
        Assert.Equal(new[] { "one", "two", "three" }.Select(vocabulary.Id), row);
        Assert.Equal(0, vocabulary.Encode("", row));
        Assert.Equal([0, 0, 0], row);
    }

    [Fact]
    public void Classification_vocabulary_comes_from_the_training_split_only()
    {
        FortuneClassification data = FortuneClassification.Load(FortunesTests.Sample, FortuneClassification.DefaultClasses, vocabularySize: 8192, length: 48);

        Assert.Equal(FortuneClassification.DefaultClasses, data.Classes);
        var trainWords = data.Corpus.In(DataSplit.Train).SelectMany(f => WordTokenizer.Words(f.Text)).ToHashSet();
        Assert.Equal(trainWords.Count + 2, data.Vocabulary.Size); // fewer distinct words than 8192: all kept
        string testOnly = data.Corpus.In(DataSplit.Test).SelectMany(f => WordTokenizer.Words(f.Text)).First(w => !trainWords.Contains(w));
        Assert.Equal(WordVocabulary.UnknownId, data.Vocabulary.Id(testOnly));

        foreach (DataSplit split in Enum.GetValues<DataSplit>())
        {
            TokenizedTexts rows = data.Split(split);
            Assert.Equal(data.Corpus.In(split).Count(), rows.Count);
            Assert.Equal(rows.Count * 48, rows.Tokens.Length);
            Assert.All(rows.Tokens, id => Assert.InRange(id, 0, data.Vocabulary.Size - 1));
            Assert.All(rows.Labels, l => Assert.InRange(l, 0, 3));
        }
        // Row 0 is the first training fortune, encoded as Encode would.
        var expected = new int[48];
        data.Vocabulary.Encode(data.Train.Texts[0], expected);
        Assert.Equal(expected, data.Train.Row(0).ToArray());
    }
}
