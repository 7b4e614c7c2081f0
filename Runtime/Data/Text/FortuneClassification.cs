using System;
using System.Collections.Generic;
using System.Linq;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// "Which file is this fortune from?": one class per fortune file, word ids from a vocabulary of the training split.
/// <code>
/// FortuneClassification data = FortuneClassification.Load(null, FortuneClassification.DefaultClasses, vocabularySize: 8192, length: 64);
/// var batches = new TokenBatches(data.Train, batchSize: 64, seed: 1);
/// var tokens = new IntTensor(batches.Tokens, 64, data.Length);     // i32[B, T]
/// </code>
/// </summary>
public sealed class FortuneClassification
{
    /// <summary>
    /// Four files of clearly different kinds with 550 to 1050 fortunes each: computer jokes and fake error messages,
    /// quips about men and women, verse and song lyrics, and Zippy the Pinhead's shouted non sequiturs.
    /// </summary>
    public static IReadOnlyList<string> DefaultClasses { get; } = ["computers", "men-women", "songs-poems", "zippy"];

    private FortuneClassification(FortuneCorpus corpus, WordVocabulary vocabulary, int length,
        TokenizedTexts train, TokenizedTexts validation, TokenizedTexts test)
    {
        Corpus = corpus;
        Vocabulary = vocabulary;
        Length = length;
        Train = train;
        Validation = validation;
        Test = test;
    }

    /// <summary>The fortunes, with the folder they came from.</summary>
    public FortuneCorpus Corpus { get; }

    /// <summary>Class names: the file names, class id = position.</summary>
    public IReadOnlyList<string> Classes => Corpus.Files;

    public WordVocabulary Vocabulary { get; }

    /// <summary>The sequence length T every row is padded or truncated to (see <see cref="WordVocabulary.Encode"/>).</summary>
    public int Length { get; }

    public TokenizedTexts Train { get; }

    public TokenizedTexts Validation { get; }

    public TokenizedTexts Test { get; }

    public TokenizedTexts Split(DataSplit split) => split switch
    {
        DataSplit.Train => Train,
        DataSplit.Validation => Validation,
        _ => Test,
    };

    /// <summary>Loads <paramref name="classes"/> (file names) with <see cref="Fortunes.Load(string?, IReadOnlyList{string}?)"/> and tokenizes them.</summary>
    public static FortuneClassification Load(string? folder, IReadOnlyList<string> classes, int vocabularySize, int length) =>
        Create(Fortunes.Load(folder, classes), vocabularySize, length);

    /// <summary>
    /// One class per file of <paramref name="corpus"/>; the vocabulary holds the <paramref name="vocabularySize"/>
    /// most frequent words of the training split.
    /// </summary>
    public static FortuneClassification Create(FortuneCorpus corpus, int vocabularySize, int length)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (corpus.Files.Count < 2)
            throw new ArgumentException($"classification needs at least two files, got {corpus.Files.Count}", nameof(corpus));
        var vocabulary = WordVocabulary.Build(corpus.In(DataSplit.Train).Select(f => f.Text), vocabularySize);
        var classOf = corpus.Files.Select((file, index) => (file, index)).ToDictionary(p => p.file, p => p.index, StringComparer.Ordinal);
        return new FortuneClassification(corpus, vocabulary, length,
            Tokenize(corpus, DataSplit.Train, vocabulary, classOf, length),
            Tokenize(corpus, DataSplit.Validation, vocabulary, classOf, length),
            Tokenize(corpus, DataSplit.Test, vocabulary, classOf, length));
    }

    private static TokenizedTexts Tokenize(FortuneCorpus corpus, DataSplit split, WordVocabulary vocabulary,
        Dictionary<string, int> classOf, int length)
    {
        Fortune[] items = corpus.In(split).ToArray();
        var tokens = new int[checked(items.Length * length)];
        var labels = new int[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            vocabulary.Encode(items[i].Text, tokens.AsSpan(i * length, length));
            labels[i] = classOf[items[i].File];
        }
        return new TokenizedTexts(tokens, length, labels, items.Select(f => f.Text).ToArray());
    }
}
