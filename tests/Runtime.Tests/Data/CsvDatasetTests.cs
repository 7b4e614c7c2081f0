using System;
using System.IO;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Runtime.Tests.Data;

public class CsvDatasetTests
{
    [Fact]
    public void Loads_header_features_and_class_label_by_name()
    {
        using var temp = new TempFolder();
        string path = temp.WriteText("iris.csv", "sepal,\"petal, width\",species\r\n5.1,0.2,0\r\n4.9,1.5e-1,2\r\n\r\n");
        CsvDataset data = CsvDataset.Load(path, new CsvOptions { LabelColumns = ["species"] });

        Assert.Equal((2, 2), (data.Count, data.FeatureCount));
        Assert.Equal([5.1f, 0.2f, 4.9f, 0.15f], data.Features);
        Assert.Equal([0, 2], data.Labels!);
        Assert.Null(data.Targets);
        Assert.Equal(["sepal", "petal, width"], data.FeatureColumns);
        Assert.Equal(path, data.Source);
    }

    [Fact]
    public void Semicolons_quotes_and_no_header_with_float_targets_by_index()
    {
        string text = "\"1\";2;3.5\n-4;\" 5 \";6\n";
        CsvDataset data = CsvDataset.Parse(text, "t.csv", new CsvOptions { LabelColumnIndices = [0, -1], LabelKind = CsvLabelKind.Value });

        Assert.Equal((2, 1, 2), (data.Count, data.FeatureCount, data.TargetCount));
        Assert.Equal([2f, 5f], data.Features);
        Assert.Equal([1f, 3.5f, -4f, 6f], data.Targets!);
        Assert.Null(data.Labels);
        Assert.Equal(["column 2"], data.FeatureColumns);
    }

    [Fact]
    public void Numbers_use_the_invariant_culture_whatever_the_current_one()
    {
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            Assert.Equal([1.5f, 2f], CsvDataset.Parse("1.5,2\n", "c.csv").Features);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void Quoted_field_may_span_lines_and_line_numbers_stay_right()
    {
        string text = "a,\"b\nsecond line\"\n1,2\n3,x\n";
        var ex = Assert.Throws<InvalidDataException>(() => CsvDataset.Parse(text, "q.csv"));
        Assert.Equal("q.csv:4: column 2 (\"b\nsecond line\"): \"x\" is not a number", ex.Message);
    }

    [Theory]
    [InlineData("a,b\n1,2\n3,oops\n", "d.csv:3: column 2 (\"b\"): \"oops\" is not a number")]
    [InlineData("a,b\n1,2\n3,\n", "d.csv:3: column 2 (\"b\"): empty cell")]
    [InlineData("a,b\n1,2\n3,4,5\n", "d.csv:3: row has 3 columns but the header has 2")]
    [InlineData("1,2\n3\n", "d.csv:2: row has 1 columns but the first row has 2")]
    [InlineData("1;2\n3;4,5\n", "d.csv:2: column 2: \"4,5\" is not a number")]
    [InlineData("1,\"2\n", "d.csv:1: column 2: quoted field is never closed")]
    [InlineData("1,\"2\"x\n", "d.csv:1: column 2: unexpected 'x' after a closing quote")]
    [InlineData("a,label\n1,2.5\n", "d.csv:2: column 2 (\"label\"): 2.5 is not a class index (a non-negative integer)")]
    [InlineData("a,label\n1,-1\n", "d.csv:2: column 2 (\"label\"): -1 is not a class index (a non-negative integer)")]
    [InlineData("", "d.csv: no rows")]
    public void Errors_name_file_line_and_column(string text, string message)
    {
        var options = text.Contains("label") ? new CsvOptions { LabelColumns = ["label"] } : null;
        Assert.Equal(message, Assert.Throws<InvalidDataException>(() => CsvDataset.Parse(text, "d.csv", options)).Message);
    }

    [Fact]
    public void Unknown_label_column_lists_the_columns()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            CsvDataset.Parse("x,y\n1,2\n", "e.csv", new CsvOptions { LabelColumns = ["z"] }));
        Assert.Equal("e.csv: no column named \"z\"; the columns are \"x\", \"y\"", ex.Message);
    }

    [Fact]
    public void Header_can_be_forced_or_denied()
    {
        Assert.Equal(1, CsvDataset.Parse("1,2\n3,4\n", "h.csv", new CsvOptions { HasHeader = true }).Count);
        Assert.Equal(2, CsvDataset.Parse("1,2\n3,4\n", "h.csv").Count);
    }
}
