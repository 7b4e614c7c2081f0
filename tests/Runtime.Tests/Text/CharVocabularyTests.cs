using System;
using System.Linq;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Runtime.Tests.Text;

public class CharVocabularyTests
{
    [Fact]
    public void Ids_follow_ordinal_order_after_the_unknown_id()
    {
        var vocabulary = CharVocabulary.Build("hello, world\n");
        Assert.Equal("\n ,dehlorw", vocabulary.Chars);
        Assert.Equal(11, vocabulary.Size);
        Assert.Equal((1, 2, 10), (vocabulary.Id('\n'), vocabulary.Id(' '), vocabulary.Id('w')));
        Assert.Equal(CharVocabulary.UnknownId, vocabulary.Id('z'));
        Assert.Equal(CharVocabulary.UnknownId, vocabulary.Id('é'));
    }

    [Fact]
    public void Encode_decode_round_trips_known_text_and_marks_unknown()
    {
        string text = "Ünïcode and ASCII, tabs\tand\nnewlines; 😀 is two code units";
        var vocabulary = CharVocabulary.Build(text);
        int[] ids = vocabulary.Encode(text);
        Assert.Equal(text.Length, ids.Length);
        Assert.Equal(text, vocabulary.Decode(ids));

        Assert.Equal("ab\uFFFD", vocabulary.Decode(vocabulary.Encode("abq")));
        Assert.Equal(1, vocabulary.CountUnknown("abq"));
        Assert.Throws<ArgumentOutOfRangeException>(() => vocabulary.Decode([vocabulary.Size]));
        Assert.Throws<ArgumentException>(() => vocabulary.Encode("abc", new int[2]));
    }

    [Fact]
    public void Rare_characters_share_the_unknown_id()
    {
        string text = new string('a', 10) + new string('b', 5) + "cc" + "d";
        Assert.Equal("abc", CharVocabulary.Build(text, minCount: 2).Chars);
        // maxSize counts the unknown id: 3 ids = unknown + the two most frequent.
        Assert.Equal("ab", CharVocabulary.Build(text, maxSize: 3).Chars);
        // Ties go to the lower code: c and d both once, c kept.
        Assert.Equal("abc", CharVocabulary.Build("aabbcd", maxSize: 4).Chars);
    }

    [Fact]
    public void Same_text_same_table_and_chars_rebuild_it()
    {
        string text = string.Concat(Enumerable.Range(0, 200).Select(i => (char)('!' + i % 90)));
        var a = CharVocabulary.Build(text);
        var b = CharVocabulary.Build(new string(text.Reverse().ToArray()));
        Assert.Equal(a.Chars, b.Chars);
        var rebuilt = CharVocabulary.FromChars(a.Chars);
        Assert.Equal(a.Encode(text), rebuilt.Encode(text));
        Assert.Throws<ArgumentException>(() => CharVocabulary.FromChars("ba"));
        Assert.Throws<ArgumentException>(() => CharVocabulary.FromChars("aa"));
    }

    [Fact]
    public void Sample_corpus_fits_a_small_vocabulary()
    {
        FortuneCorpus corpus = Fortunes.Load(FortunesTests.Sample);
        string train = corpus.JoinedText(DataSplit.Train);
        var vocabulary = CharVocabulary.Build(train);
        Assert.InRange(vocabulary.Size, 80, 100);
        // Validation text uses (almost) only characters the training text has.
        string validation = corpus.JoinedText(DataSplit.Validation);
        Assert.True(vocabulary.CountUnknown(validation) <= validation.Length / 1000, $"{vocabulary.CountUnknown(validation)} unknown");
    }
}
