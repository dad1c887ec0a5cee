document.title = "Spito";
