using System;
using System.Linq;

namespace ModelDsl.Package.Tests;

/// <summary>The snippet convention of <see cref="DocSnippets"/>: what each comment means and what is refused.</summary>
public sealed class DocSnippetsParseTests
{
    [Fact]
    public void Blocks_take_their_kind_reason_and_setup_from_the_comment_above()
    {
        const string text = """
            # Page
            ```csharp
            var a = 1;
            ```
            <!-- snippet: run
            var x = 2;
            -->
            ```cs
            using ModelDsl.Runtime;
            var b = x;
            ```
            ```sh
            dotnet build
            ```
            <!-- snippet: compile-only: needs a GPU -->
            ```csharp
            Gpu();
            ```
            <!-- snippet: fragment: generated code -->
              ```c#
              ...
              ```
            """;
        var snippets = DocSnippets.Parse("docs/page.md", text);
        Assert.Equal([2, 8, 16, 20], snippets.Select(snippet => snippet.Line));
        Assert.Equal([SnippetKind.Run, SnippetKind.Run, SnippetKind.CompileOnly, SnippetKind.Fragment], snippets.Select(snippet => snippet.Kind));
        Assert.Equal(["", "", "needs a GPU", "generated code"], snippets.Select(snippet => snippet.Reason));
        Assert.Equal(["var x = 2;"], snippets[1].Setup);
        Assert.Equal(6, snippets[1].SetupLine);
        Assert.Equal(["..."], snippets[3].Code);
        Assert.Equal("docs_page_md_8", snippets[1].MethodName);

        // The using directive goes on top; its line stays, empty, so #line keeps the page's numbering.
        string source = DocSnippets.ToSource(snippets[1], "App", "/repo/docs/page.md");
        Assert.StartsWith("// docs/page.md:8" + Environment.NewLine + "using ModelDsl.Runtime;" + Environment.NewLine, source, StringComparison.Ordinal);
        Assert.Contains("#line 6 \"/repo/docs/page.md\"" + Environment.NewLine + "var x = 2;" + Environment.NewLine, source, StringComparison.Ordinal);
        Assert.Contains("#line 9 \"/repo/docs/page.md\"" + Environment.NewLine + Environment.NewLine + "var b = x;", source, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<!-- snippet: skip -->\n```csharp\nx();\n```", "docs/page.md:1: a snippet comment starts")]
    [InlineData("<!-- snippet: compile-only -->\n```csharp\nx();\n```", "says why")]
    [InlineData("<!-- snippet: run -->\ntext\n```csharp\nx();\n```", "must come right above a C# block")]
    [InlineData("<!-- snippet: run -->\n```sh\nls\n```", "not a C# one")]
    [InlineData("```csharp\nx();\n<!-- snippet: run -->", "never closed")]
    [InlineData("text\n<!-- snippet: run -->\n", "no C# block after it")]
    [InlineData("<!-- snippet: run\nvar x = 1;\n```csharp\nx();\n```", "never closed with a '-->' line")]
    [InlineData("text\n```\nconfig { d = 4 }\nvar model = new M(seed: 1);   // C#\n```", "docs/page.md:4: a block without a language holds C# ('var model = new M(seed: 1);   // C#')")]
    public void Misplaced_or_unexplained_comments_are_refused(string text, string message)
    {
        var error = Assert.Throws<FormatException>(() => DocSnippets.Parse("docs/page.md", text));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_block_with_using_directives_may_not_get_more_from_its_setup()
    {
        var snippet = Assert.Single(DocSnippets.Parse("docs/page.md", "<!-- snippet: run\nusing ModelDsl.Runtime;\n-->\n```csharp\nusing ModelDsl.Cuda;\nGo();\n```"));
        var error = Assert.Throws<FormatException>(() => DocSnippets.ToSource(snippet, "App", "/repo/docs/page.md"));
        Assert.Contains("may not add any", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_repository_docs_parse()
    {
        Assert.NotEmpty(DocSnippetTests.AllSnippets(PackageFeed.RepoRoot()));
    }
}
